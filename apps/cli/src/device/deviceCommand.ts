/** `tandem device list|show|create|create-ha|resize|delete|wait`: devices over the public GraphQL API. */
import { Command, Option } from 'commander';
import { CliError, EXIT, USER_ERRORS } from '../api/graphqlClient';
import { apiVerb } from '../api/verb';
import { DEVICE_FIELDS } from '../api/fields';
import { firstOf, listConnection, withFirstOption } from '../api/connection';
import { resolveCluster, resolveNodes } from '../api/resolve';
import { found, render } from '../output/render';
import { waitForState } from './waitForState';
import { createHaCommand } from './createHaCommand';
import { DEVICE_COLUMNS, mutateDevice, size } from './deviceShared';
import { CACHE_MODES, enumValue } from './haOptions';

type Row = Record<string, any>;

function integer(name: string, text: string): number {
  if (!/^-?\d+$/.test(text)) throw new CliError(`${name} must be an integer, not "${text}"`, EXIT.badInput);
  return Number(text);
}

export function deviceCommand(): Command {
  const device = new Command('device').description('Devices (LUs)');
  device.addCommand(
    withFirstOption(
      apiVerb('list', 'List the devices (every page; --first N for fewer)', async (client, opts) => {
        const clusterId = opts.cluster === undefined ? null : await resolveCluster(client, opts.cluster as string);
        const devices = await listConnection<Row>(client, { field: 'devices', pageSize: 500, fields: DEVICE_FIELDS, filters: { clusterId: 'ID' } }, { clusterId }, firstOf(opts));
        render(opts.output, devices, DEVICE_COLUMNS);
      }).option('--cluster <name-or-id>', 'only the devices of this cluster'),
    ),
  );
  device.addCommand(
    apiVerb('show', 'Show one device', async (client, opts, id) => {
      const data = await client.request<{ device: Row | null }>(`query($id: ID!) { device(id: $id) { ${DEVICE_FIELDS} } }`, { id });
      render(opts.output, found(data.device, 'device', id), DEVICE_COLUMNS);
    }).argument('<id>', 'device id'),
  );
  device.addCommand(
    apiVerb('create', 'Create a single-replica device on one node', async (client, opts) => {
      const sizeBytes = size(opts.size as string);
      const priority = integer('--priority', opts.priority as string);
      const [clusterId, [nodeId]] = await Promise.all([resolveCluster(client, opts.cluster as string), resolveNodes(client, [opts.node as string])]);
      const input: Record<string, unknown> = {
        clusterId,
        name: opts.name,
        sizeBytes,
        replicas: [{ nodeId, priority }],
        storeKind: (opts.store as string).toUpperCase(),
        sectorSize: Number(opts.sector),
        ...(opts.cache !== undefined ? { cacheMode: enumValue(opts.cache as string, CACHE_MODES, '--cache') } : {}),
      };
      render(opts.output, await mutateDevice(client, 'createDevice', 'CreateDeviceInput', input), DEVICE_COLUMNS);
    })
      .requiredOption('--cluster <name-or-id>', 'cluster')
      .requiredOption('--name <name>', 'device name')
      .requiredOption('--size <size>', 'size: bytes, or 64K, 100M, 10G, 1T, 10GiB')
      .requiredOption('--node <name-or-id>', 'node that holds the replica')
      .option('--priority <n>', 'replica priority (higher wins)', '100')
      .addOption(new Option('--store <kind>', 'store kind').choices(['flat', 'lsfs']).default('flat'))
      .addOption(new Option('--sector <bytes>', 'sector size').choices(['512', '4096']).default('512'))
      .addOption(new Option('--cache <mode>', 'cache mode (default write-through)').choices(['none', 'write-through', 'write-back'])),
  );
  device.addCommand(createHaCommand());
  device.addCommand(
    apiVerb('resize', 'Grow a device', async (client, opts, id) => {
      const resized = await mutateDevice(client, 'resizeDevice', 'ResizeDeviceInput', { deviceId: id, sizeBytes: size(opts.size as string) });
      render(opts.output, resized, DEVICE_COLUMNS);
    })
      .argument('<id>', 'device id')
      .requiredOption('--size <size>', 'new size (grow only): bytes, or 64K, 100M, 10G, 1T, 10GiB'),
  );
  device.addCommand(
    apiVerb('delete', 'Delete a device (needs --yes)', async (client, opts, id) => {
      if (!opts.yes) throw new CliError(`deleting ${id} destroys its data: add --yes`, EXIT.badInput);
      await client.mutate(`mutation($input: DeleteDeviceInput!) { deleteDevice(input: $input) { aggregateId ${USER_ERRORS} } }`, 'deleteDevice', { input: { deviceId: id } });
      process.stderr.write(`deleted ${id}\n`);
    })
      .argument('<id>', 'device id')
      .option('--yes', 'confirm the deletion'),
  );
  device.addCommand(
    apiVerb('wait', 'Wait until a device is in a state (a progress bar during a resync on a TTY)', async (client, opts, id) => {
      const reached = await waitForState(client, id, opts.state as string, parseDuration(opts.timeout as string));
      render(opts.output, reached, DEVICE_COLUMNS);
    })
      .argument('<id>', 'device id')
      .addOption(new Option('--state <state>', 'state to wait for').choices(['ONLINE', 'DEGRADED', 'RESYNCING', 'BLOCKED', 'SPLIT_BRAIN', 'OFFLINE', 'PENDING']).default('ONLINE'))
      .option('--timeout <duration>', 'give up after (e.g. 90s, 5m)', '120s'),
  );
  return device;
}

/** `120s`, `5m`, `1h` or bare seconds, to milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new CliError(`bad duration "${text}": expected e.g. 90s, 5m, 1h`, EXIT.badInput);
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * scale;
}
