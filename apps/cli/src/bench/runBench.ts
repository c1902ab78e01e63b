/** Runs `tandem bench`: opens the multipath device, shows progress, runs the load, prints the report. */
import { MultiBar, Presets } from 'cli-progress';
import {
  FailoverEvent, IdentityMismatchError, MultipathDevice, PathStateEvent, WorkloadProgress, runWorkload,
} from '@tandem/initiator';
import { BenchOptions } from './benchOptions';
import { buildReport, formatReport, formatSizeShort, pathDeltas } from './benchReport';
import { runMixedWorkload } from './mixedWorkload';

export async function runBench(options: BenchOptions): Promise<number> {
  const err = (line: string) => process.stderr.write(`tandem bench: ${line}\n`);
  let device: MultipathDevice;
  try {
    device = await MultipathDevice.open(options.paths, {
      policy: options.policy,
      headerDigest: options.headerDigest,
      dataDigest: options.dataDigest,
      initiatorName: options.initiatorName,
      commandTimeoutMs: options.commandTimeoutMs,
      ioDeadlineMs: options.ioDeadlineMs,
    });
  } catch (e) {
    err((e as Error).message);
    return e instanceof IdentityMismatchError ? 2 : 1;
  }
  if (options.blockSize % device.blockSize !== 0) {
    err(`--bs ${options.blockSize} is not a multiple of the LU's ${device.blockSize}-byte blocks`);
    await device.close();
    return 2;
  }

  const showBar = options.progress && !options.json && process.stderr.isTTY === true;
  const bars = showBar
    ? new MultiBar({
      format: ' {bar} {percentage}% | {elapsed}/{seconds} s | {iops} IOPS | {mbps} MB/s | errors {errors}',
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    }, Presets.shades_classic)
    : null;
  const seconds = options.durationMs / 1000;
  const bar = bars?.create(options.durationMs, 0, { elapsed: '0.0', seconds: seconds.toFixed(1), iops: 0, mbps: '0.0', errors: 0 });
  const note = (line: string) => (bars ? bars.log(`${line}\n`) : process.stderr.write(`${line}\n`));
  device.on('path-state', (e: PathStateEvent) => note(`path #${e.path.index} ${e.path.url}: ${e.from} → ${e.to}${e.reason ? ` (${e.reason})` : ''}`));
  device.on('access-state', (e: PathStateEvent) => note(`path #${e.path.index} ALUA ${e.from} → ${e.to}`));
  device.on('failover', (e: FailoverEvent) => note(`failover #${e.from.index} → #${e.to.index}: I/O resumed after ${e.elapsedMs} ms`));

  if (!options.json) {
    process.stdout.write(`tandem bench: ${options.pattern} ${formatSizeShort(options.blockSize)} qd ${options.queueDepth} for ${seconds} s, `
      + `${options.paths.length} path${options.paths.length === 1 ? '' : 's'} (${options.policy}), LU of ${device.blockCount} × ${device.blockSize} B\n`);
  }
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const before = device.paths();
  let lastIos = 0;
  let lastAt = 0;
  let result;
  try {
    const onProgress = (p: WorkloadProgress) => {
      if (!bar) return;
      const dt = (p.elapsedMs - lastAt) / 1000;
      const iops = dt > 0 ? Math.round((p.ios - lastIos) / dt) : 0;
      lastIos = p.ios;
      lastAt = p.elapsedMs;
      bar.update(Math.min(options.durationMs, p.elapsedMs), {
        elapsed: (p.elapsedMs / 1000).toFixed(1), iops, mbps: ((iops * options.blockSize) / 1e6).toFixed(1), errors: p.errors,
      });
    };
    const common = { blockSize: options.blockSize, queueDepth: options.queueDepth, durationMs: options.durationMs, spanBytes: options.spanBytes, signal: abort.signal };
    result = options.pattern === 'randrw'
      ? await runMixedWorkload(device, { ...common, readPercent: options.readPercent ?? 50 }, onProgress, 200)
      : await runWorkload(device, { ...common, pattern: options.pattern }, onProgress, 200);
  } catch (e) {
    bars?.stop();
    err((e as Error).message);
    await device.close();
    return 2;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  bars?.stop();
  const report = buildReport(options, result, pathDeltas(before, device.paths()));
  device.events.removeAllListeners(); // logging out is not news
  await device.close();
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
  if (result.error) {
    err(`stopped: ${result.error.message}`);
    return 1;
  }
  return 0;
}
