/** `tandem device create-ha NAME --size … --node A[:priority] --node B [--node C] …` over createHaDevice. */
import { Command, Option } from 'commander';
import { apiVerb } from '../api/verb';
import { listConnection } from '../api/connection';
import { pick } from '../api/resolve';
import { buildHaInput, HaFlags } from './haOptions';
import { DEVICE_COLUMNS, mutateDevice, size } from './deviceShared';
import { render } from '../output/render';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function createHaCommand(): Command {
  return apiVerb('create-ha', 'Create a HA device: 2 or 3 replicas on distinct nodes of one cluster, mirrored synchronously', async (client, opts, name) => {
    const flags = opts as unknown as HaFlags & { size: string };
    const [clusters, nodes] = await Promise.all([
      listConnection<{ id: string; name: string }>(client, { field: 'clusters', pageSize: 500, fields: 'id name' }),
      listConnection<{ id: string; name: string }>(client, { field: 'storageNodes', pageSize: 500, fields: 'id name' }),
    ]);
    const nodeId = (ref: string) => pick(nodes, ref, 'storage node');
    const sizeBytes = size(flags.size);
    const ids = flags.node.map((spec) => nodeId(spec.replace(/:\d+$/, '')));
    const input = buildHaInput({ ...flags, name, sizeBytes }, pick(clusters, flags.cluster, 'cluster'), ids, nodeId);
    render(opts.output, await mutateDevice(client, 'createHaDevice', 'CreateHaDeviceInput', input), DEVICE_COLUMNS);
  })
    .argument('<name>', 'device name (unique in its cluster)')
    .requiredOption('--cluster <name-or-id>', 'cluster')
    .requiredOption('--size <size>', 'size: bytes, or 64K, 100M, 10G, 1T, 10GiB')
    .requiredOption('--node <node[:priority]>', 'a replica\'s node (name or id), 2 or 3 times; priority 0..255, higher wins a split (default 100, 90, 80 in order)', collect)
    .option('--sync <node=host:port[,host:port]>', "a replica's sync link endpoints (default: the node's registered ones); repeat per node", collect)
    .option('--heartbeat <node=host:port[,host:port]>', "a replica's heartbeat endpoints (default: the node's registered ones); repeat per node", collect)
    .option('--paths <node=optimized|non-optimized>', "a replica's ALUA path preference (default optimized); repeat per node", collect)
    .option('--replica-store <node=flat|lsfs>', "a replica's own store kind (default: --store); repeat per node", collect)
    .addOption(new Option('--strategy <strategy>', 'split arbitration: heartbeat, or node-majority (with --witness)').choices(['heartbeat', 'node-majority']))
    .option('--witness <host:port>', 'a `tandem witness` endpoint (UDP) for node-majority; repeatable', collect)
    .addOption(new Option('--store <kind>', 'store kind (default flat)').choices(['flat', 'lsfs']))
    .addOption(new Option('--sector <bytes>', 'sector size (default 512)').choices(['512', '4096']))
    .addOption(new Option('--cache <mode>', 'cache mode (default write-through)').choices(['none', 'write-through', 'write-back']))
    .addOption(new Option('--initial-sync <how>', 'clear-both (default: new empty replicas), sync-from (with --sync-from), none (they already match)').choices(['clear-both', 'sync-from', 'none']))
    .option('--sync-from <node>', 'with initial sync sync-from: the node whose replica holds the data');
}
