/** `tandem device list|show|create|resize|delete|wait`: devices over the public GraphQL API. */
import { Command, Option } from 'commander';
import { CliError, EXIT, GraphqlClient, USER_ERRORS } from '../api/graphqlClient';
import { apiVerb } from '../api/verb';
import { DEVICE_FIELDS } from '../api/fields';
import { Column, found, nodesOf, render } from '../output/render';
import { formatSize, parseSize, SizeError } from '../units/size';
import { waitForState } from './waitForState';

type Row = Record<string, any>;


export const DEVICE_COLUMNS: Column<Row>[] = [
  { header: 'ID', value: (d) => d.id },
  { header: 'NAME', value: (d) => d.name },
  { header: 'SIZE', value: (d) => formatSize(d.sizeBytes) },
  { header: 'STATE', value: (d) => d.state },
  { header: 'STORE', value: (d) => d.storeKind },
  { header: 'SECTOR', value: (d) => d.sectorSize },
  { header: 'REPLICAS', value: (d) => `${d.synchronizedCopies}/${d.replicaCount}` },
  { header: 'NODES', value: (d) => d.replicas.map((r: Row) => r.nodeId) },
];

/** A size flag through the one parser; a bad one is bad input (exit 2). */
function size(text: string): number {
  try {
    return parseSize(text);
  } catch (err) {
    if (err instanceof SizeError) throw new CliError(err.message, EXIT.badInput);
    throw err;
  }
}

function integer(name: string, text: string): number {
  if (!/^-?\d+$/.test(text)) throw new CliError(`${name} must be an integer, not "${text}"`, EXIT.badInput);
  return Number(text);
}


async function mutateDevice(client: GraphqlClient, mutation: string, inputType: string, input: Record<string, unknown>): Promise<Row> {
  const payload = await client.mutate<{ errors: []; device: Row | null }>(
    `mutation($input: ${inputType}!) { ${mutation}(input: $input) { device { ${DEVICE_FIELDS} } ${USER_ERRORS} } }`,
    mutation,
    { input },
  );
  if (!payload.device) throw new CliError(`${mutation} was accepted but the API returned no device`, EXIT.failed);
  return payload.device;
}

export function deviceCommand(): Command {
  const device = new Command('device').description('Devices (LUs)');
  device.addCommand(
    apiVerb('list', 'List the devices', async (client, opts) => {
      const data = await client.request<{ devices: { edges: { node: Row }[] } }>(
        `query($clusterId: ID) { devices(first: 500, clusterId: $clusterId) { edges { node { ${DEVICE_FIELDS} } } } }`,
        { clusterId: (opts.cluster as string | undefined) ?? null },
      );
      render(opts.output, nodesOf(data.devices), DEVICE_COLUMNS);
    }).option('--cluster <id>', 'only the devices of this cluster'),
  );
  device.addCommand(
    apiVerb('show', 'Show one device', async (client, opts, id) => {
      const data = await client.request<{ device: Row | null }>(`query($id: ID!) { device(id: $id) { ${DEVICE_FIELDS} } }`, { id });
      render(opts.output, found(data.device, 'device', id), DEVICE_COLUMNS);
    }).argument('<id>', 'device id'),
  );
  device.addCommand(
    apiVerb('create', 'Create a single-replica device on one node', async (client, opts) => {
      const input: Record<string, unknown> = {
        clusterId: opts.cluster,
        name: opts.name,
        sizeBytes: size(opts.size as string),
        replicas: [{ nodeId: opts.node, priority: integer('--priority', opts.priority as string) }],
        storeKind: (opts.store as string).toUpperCase(),
        sectorSize: Number(opts.sector),
      };
      const created = await mutateDevice(client, 'createDevice', 'CreateDeviceInput', input);
      render(opts.output, created, DEVICE_COLUMNS);
    })
      .requiredOption('--cluster <id>', 'cluster id')
      .requiredOption('--name <name>', 'device name')
      .requiredOption('--size <size>', 'size: bytes, or 64K, 100M, 10G, 1T, 10GiB')
      .requiredOption('--node <id>', 'node that holds the replica')
      .option('--priority <n>', 'replica priority (higher wins)', '100')
      .addOption(new Option('--store <kind>', 'store kind').choices(['flat', 'lsfs']).default('flat'))
      .addOption(new Option('--sector <bytes>', 'sector size').choices(['512', '4096']).default('512')),
  );
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
