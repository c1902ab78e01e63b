/** `tandem serve`: a standalone target from flags, no control plane. */
import { readFileSync } from 'fs';
import { Command } from 'commander';
import { TargetHost, HostConfigError } from '@tandem/target-host';
import { ConfigurationError, formatHostPort } from '@tandem/iscsi';
import { StoreError, formatSize } from '@tandem/storage';
import { createLogger } from '../logger';
import { ServeArgsError, ServeToken, buildServeConfig } from './parseServeArgs';
import { startAdminSocket } from '../ha/adminSocket';

/** Exit code for bad input (flags, files, sizes, ports): scripts can tell it from a crash. */
export const EXIT_BAD_INPUT = 2;
const SHUTDOWN_LIMIT_MS = 4500;

export function serveCommand(): Command {
  const tokens: ServeToken[] = [];
  const collect = (flag: ServeToken['flag']) => (value: string) => {
    tokens.push({ flag, value });
    return value;
  };
  return new Command('serve')
    .description('serve iSCSI targets from image files (standalone, no control plane)')
    .option('--listen <host:port[,tpg=N]>', 'portal to listen on (repeatable; default 0.0.0.0:3260)', collect('listen'))
    .option('--target <iqn>', 'target name; the --lun and --chap options after it belong to it (repeatable)', collect('target'))
    .option(
      '--lun <N=flat:PATH[,size=1GiB][,sector=4096][,create][,thin][,id=ID][,alua=TPG:STATE/…][,cache=wb|wt|none:SIZE] | N=lsfs:DIR[,size=…][,create][,snapshot=NAME]…>',
      'a LUN of the preceding target (repeatable); alua= sets its access state per portal group (optimized, non-optimized, standby, unavailable)',
      collect('lun'),
    )
    .option('--chap <user:secret[:mutualuser:mutualsecret]>', 'CHAP for the preceding target (before any --target: for all)', collect('chap'))
    .option('--discovery-chap <user:secret[:mutualuser:mutualsecret]>', 'require CHAP for discovery sessions', collect('discovery-chap'))
    .option('--nop-interval <seconds>', 'ping an idle initiator after this many seconds (default 10)', collect('nop-interval'))
    .option('--nop-timeout <seconds>', 'drop a connection whose initiator leaves a ping unanswered this long (default 15)', collect('nop-timeout'))
    .option('--admin-socket <path>', 'UNIX socket (mode 0600) for `tandem ha status|resolve-split-brain` on this node')
    .option('--config <file>', 'the whole node from a JSON file (the node agent\'s HostConfig format, HA replicas included) instead of the flags above')
    .addHelpText('after', `
Example:
  tandem serve --listen 127.0.0.1:3260 --target iqn.2026-11.io.tandem:demo \\
    --lun 0=flat:/var/lib/tandem/disk0.img,size=1GiB,create --chap alice:averylongsecret
  One LU through two portal groups (two ALUA target port groups; multipath on one node):
  tandem serve --listen 127.0.0.1:3260,tpg=1 --listen 127.0.0.1:3261,tpg=2 --target iqn.2026-11.io.tandem:mp \
    --lun 0=flat:/var/lib/tandem/mp0.img,size=1GiB,create,alua=1:optimized/2:non-optimized
  tandem serve --listen 0.0.0.0:3260 --target iqn.2026-11.io.tandem:logs \\
    --lun 0=lsfs:/var/lib/tandem/logs.lsfs,size=500GiB,create   # log-structured, thin, snapshots
  The same store live on LUN 0 and its snapshot "nightly" as a read-only LUN 1:
  tandem serve --target iqn.2026-11.io.tandem:logs --lun 0=lsfs:/var/lib/tandem/logs.lsfs \
    --lun 1=lsfs:/var/lib/tandem/logs.lsfs,snapshot=nightly`)
    .action(async (opts: { config?: string; adminSocket?: string }) => {
      if (opts.config !== undefined && tokens.some((t) => t.flag === 'listen' || t.flag === 'target' || t.flag === 'lun')) {
        process.stderr.write('tandem serve: --config holds the whole node; do not combine it with --listen, --target or --lun\n');
        process.exit(EXIT_BAD_INPUT);
      }
      await runServe(tokens, opts.config, opts.adminSocket);
    });
}

/** The config file's JSON, or a clear error (missing, unreadable, not JSON). */
function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ServeArgsError(`--config ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ServeArgsError(`--config ${file}: not JSON (${(err as Error).message})`);
  }
}

export async function runServe(tokens: ServeToken[], configFile?: string, adminSocket?: string): Promise<void> {
  const log = createLogger('tandem-serve');
  let host: TargetHost;
  try {
    host = await TargetHost.start(configFile !== undefined ? readConfigFile(configFile) : buildServeConfig(tokens), log);
  } catch (err) {
    if (err instanceof ServeArgsError || err instanceof HostConfigError || err instanceof ConfigurationError || err instanceof StoreError) {
      process.stderr.write(`tandem serve: ${err.message}\n`);
      process.exit(EXIT_BAD_INPUT);
    }
    throw err;
  }
  if (adminSocket !== undefined) {
    try {
      await startAdminSocket(host, adminSocket, (m) => log.info({ component: 'admin' }, m));
    } catch (err) {
      process.stderr.write(`tandem serve: ${(err as Error).message}\n`);
      await host.stop(500).catch(() => undefined);
      process.exit(EXIT_BAD_INPUT);
    }
  }
  const portals = host.server.listening().map((p) => `${formatHostPort(p.host, p.port)},${p.portalGroupTag}`);
  log.info({
    portals,
    targets: host.config.targets.map((t) => ({
      name: t.name,
      chap: t.chap ? (t.chap.mutualUsername ? 'mutual' : 'one-way') : 'none',
      luns: host.luns.filter((l) => l.target === t.name).map((l) => ({
        lun: l.lun, store: l.store.location, size: formatSize(l.store.sizeBytes), sector: l.store.blockSize, thin: l.store.thin, deviceId: l.deviceId,
        alua: Object.fromEntries(l.unit.alua.portGroups().map((g) => [g.id, l.unit.alua.stateOf(g.id)])),
      })),
    })),
  }, 'ready');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: logging initiators out and flushing stores');
    const hardStop = setTimeout(() => {
      log.error({}, 'shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    host.stop(1500).then(
      () => {
        clearTimeout(hardStop);
        log.info({}, 'stopped');
        process.exit(0);
      },
      (err) => {
        log.error({ err: String(err) }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
