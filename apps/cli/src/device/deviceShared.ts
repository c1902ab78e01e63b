/** What the device verbs share: the table's columns, the size flag through the one parser, and a device mutation. */
import { CliError, EXIT, GraphqlClient, USER_ERRORS } from '../api/graphqlClient';
import { DEVICE_FIELDS } from '../api/fields';
import { Column } from '../output/render';
import { formatSize, parseSize, SizeError } from '../units/size';

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
export function size(text: string): number {
  try {
    return parseSize(text);
  } catch (err) {
    if (err instanceof SizeError) throw new CliError(err.message, EXIT.badInput);
    throw err;
  }
}

/** Runs a device mutation and returns the device as its payload holds it; typed refusals throw with their exit code. */
export async function mutateDevice(client: GraphqlClient, mutation: string, inputType: string, input: Record<string, unknown>): Promise<Row> {
  const payload = await client.mutate<{ errors: []; device: Row | null }>(
    `mutation($input: ${inputType}!) { ${mutation}(input: $input) { device { ${DEVICE_FIELDS} } ${USER_ERRORS} } }`,
    mutation,
    { input },
  );
  if (!payload.device) throw new CliError(`${mutation} was accepted but the API returned no device`, EXIT.failed);
  return payload.device;
}
