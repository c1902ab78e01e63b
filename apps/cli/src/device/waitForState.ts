/** Polls a device until it reaches a state, drawing a cli-progress bar for a running resync when stdout is a TTY. */
import { SingleBar, Presets } from 'cli-progress';
import { CliError, EXIT, GraphqlClient } from '../api/graphqlClient';
import { DEVICE_FIELDS, RESYNC_FIELDS } from '../api/fields';

type Row = Record<string, any>;

export interface WaitOptions {
  pollMs?: number;
  /**
   * Where the bar goes: stderr when stdout is a terminal (default), none otherwise — scripts pipe stdout, and a bar
   * there, or one on their stderr, would be noise in what they keep.
   */
  progress?: NodeJS.WritableStream | null;
}

export async function waitForState(client: Pick<GraphqlClient, 'request'>, id: string, state: string, timeoutMs: number, options: WaitOptions = {}): Promise<Row> {
  const deadline = Date.now() + timeoutMs;
  const pollMs = options.pollMs ?? 1000;
  const stream = options.progress === undefined ? (process.stdout.isTTY ? process.stderr : null) : options.progress;
  const bar = stream ? new SingleBar({ format: 'resync {bar} {percentage}% | {value}/{total} MiB | ETA {eta}s', clearOnComplete: true, stream }, Presets.shades_classic) : undefined;
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
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
    }
  } finally {
    if (barStarted) bar?.stop();
  }
}
