/** `tandem bench`: load one LU through one or more iSCSI paths (MPIO) and print IOPS, MB/s and latency. */
import { Command } from 'commander';
import { BENCH_DEFAULTS, BenchFlags, BenchUsageError, benchOptionsFrom } from './benchOptions';

/** Exit code for bad flags: scripts can tell it from a failed run (1). */
export const EXIT_BAD_INPUT = 2;

export function benchCommand(): Command {
  const collect = (value: string, previous: string[]) => [...previous, value];
  return new Command('bench')
    .description('measure a LU through one or more iSCSI paths (multipath): IOPS, MB/s, latency percentiles, per-path counts')
    .option('--path <url>', 'iscsi://[user%secret@]host[:port]/target-iqn/lun (repeat for multipath; the order is the failover preference)', collect, [])
    .option('--policy <rr|failover|lqd>', `path selection: round-robin, failover (first usable path), least queue depth (default ${BENCH_DEFAULTS.policy})`)
    .option('--rw <read|write|randread|randwrite|randrw>', `access pattern (default ${BENCH_DEFAULTS.rw}); write patterns and randrw OVERWRITE the LU's data`)
    .option('--rwmixread <percent>', `with --rw randrw: share of I/Os that read (default ${BENCH_DEFAULTS.rwmixread})`)
    .option('--bs <size>', `bytes per I/O: 512, 4k, 64k, 1m, … (default ${BENCH_DEFAULTS.bs})`)
    .option('--qd <n>', `I/Os kept in flight (default ${BENCH_DEFAULTS.qd})`)
    .option('--seconds <n>', `how long to run (default ${BENCH_DEFAULTS.seconds})`)
    .option('--span <size>', 'use only the first <size> bytes of the LU (default: all of it)')
    .option('--header-digest <none|crc32c>', 'HeaderDigest to offer: none, crc32c, crc32c-none, none-crc32c (default none)')
    .option('--data-digest <none|crc32c>', 'DataDigest to offer (default none)')
    .option('--initiator-name <iqn>', 'initiator name to log in with')
    .option('--command-timeout <seconds>', `a command outstanding this long fails its path (default ${BENCH_DEFAULTS.commandTimeoutSeconds})`)
    .option('--io-deadline <seconds>', `an I/O no path completes within this fails the run (default ${BENCH_DEFAULTS.ioDeadlineSeconds})`)
    .option('--json', 'print the result as one JSON object instead of text')
    .option('--no-progress', 'no progress bar (there is none when stderr is not a terminal either)')
    .showSuggestionAfterError(false)
    .addHelpText('after', `
Example:
  tandem bench --path iscsi://127.0.0.1:3260/iqn.2026-11.io.tandem:mp/0 \\
    --path iscsi://127.0.0.1:3261/iqn.2026-11.io.tandem:mp/0 --policy lqd --rw randread --bs 4k --qd 32 --seconds 10

Path events (failure, reconnect, ALUA changes, failovers) are reported on stderr while it runs.
Exit codes: 0 done, 1 the run failed (no path, I/O error), 2 bad flags or paths to different LUs.`)
    .action(async (flags: BenchFlags) => {
      let options;
      try {
        options = benchOptionsFrom(flags);
      } catch (err) {
        if (!(err instanceof BenchUsageError)) throw err;
        process.stderr.write(`tandem bench: ${err.message}\n`);
        process.exit(EXIT_BAD_INPUT);
      }
      const { runBench } = await import('./runBench');
      const code = await runBench(options);
      process.stdout.write('', () => process.exit(code));
    });
}
