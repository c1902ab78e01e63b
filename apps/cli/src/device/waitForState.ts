/** Polls a device until it reaches a state, drawing a cli-progress bar for a running resync when stdout is a TTY. */
import { SingleBar, Presets } from 'cli-progress';
import { CliError, EXIT, GraphqlClient } from '../api/graphqlClient';
import { DEVICE_FIELDS, RESYNC_FIELDS } from '../api/fields';

type Row = Record<string, any>;

const POLL_MS = 1000;

export async function waitForState(client: GraphqlClient, id: string, state: string, timeoutMs: number): Promise<Row> {
  const deadline = Date.now() + timeoutMs;
  // Scripts pipe stdout: a bar there would be noise in their output.
  const bar = process.stdout.isTTY ? new SingleBar({ format: 'resync {bar} {percentage}% | {value}/{total} MiB | ETA {eta}s', clearOnComplete: true }, Presets.shades_classic) : undefined;
  let barStarted = false;
  try {
    for (;;) {
      const data = await client.request<{ device: Row | null }>(`query($id: ID!) { device(id: $id) { ${DEVICE_FIELDS} ${RESYNC_FIELDS} } }`, { id });
      if (!data.device) throw new CliError(`no device with id ${id}`, EXIT.notFound);
      const { health, ...device } = data.device;
      if (device.state === state) return device;
      const resync = (health?.resyncs ?? [])[0] as Row | undefined;
      if (bar && resync) {
        const mib = (b: number) => Math.floor(b / 1048576);
        if (!barStarted) bar.start(mib(resync.totalBytes), mib(resync.doneBytes));
        barStarted = true;
        // A later resync (another partner, or a restart of this one) may have another size.
        bar.setTotal(mib(resync.totalBytes));
        bar.update(mib(resync.doneBytes));
      }
      if (Date.now() >= deadline) throw new CliError(`device ${id} is ${device.state}, not ${state}, after ${Math.round(timeoutMs / 1000)} s`, EXIT.failed);
      await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
    }
  } finally {
    if (barStarted) bar?.stop();
  }
}
