/**
 * `tandem lsfs`: maintenance of an LSFS store that no process is serving (the store refuses a second opener):
 * consistency check, space and RAM figures, snapshots (create, list, delete, rollback). Snapshots of a store a
 * `tandem serve --admin-socket PATH` serves are created, listed and deleted through that socket (`--socket`).
 */
import { Command } from 'commander';
import { LsfsStore } from '@tandem/storage';
import { resolve as resolvePath } from 'path';
import { askAdminSocket } from '../ha/adminSocket';
import { EXIT_BAD_INPUT } from '../serve/serveCommand';

const MiB = 1024 * 1024;

async function withStore<T>(dir: string, fn: (store: LsfsStore) => Promise<T>): Promise<T> {
  let store: LsfsStore;
  try {
    store = await LsfsStore.open({ path: dir, gcThreshold: 0 });
  } catch (err) {
    const busy = /in use by process/.test((err as Error).message);
    process.stderr.write(`tandem lsfs: ${(err as Error).message}${busy ? '\n  (a store being served: `tandem lsfs snapshot create|list|delete … --socket PATH` asks that `tandem serve --admin-socket PATH`)' : ''}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
  try {
    return await fn(store);
  } catch (err) {
    process.stderr.write(`tandem lsfs: ${(err as Error).message}\n`);
    process.exit(1);
  } finally {
    await store.close();
  }
}

/** A snapshot operation on a store a running `tandem serve` holds, through its admin socket. */
async function viaSocket(socket: string, dir: string, action: string, name?: string): Promise<Record<string, unknown>> {
  try {
    const reply = await askAdminSocket(socket, { op: 'lsfs-snapshot', path: resolvePath(dir), action, name });
    if (reply.ok) return reply;
    process.stderr.write(`tandem lsfs: ${reply.error}\n`);
  } catch (err) {
    process.stderr.write(`tandem lsfs: ${(err as Error).message}\n`);
  }
  process.exit(EXIT_BAD_INPUT);
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

export function lsfsCommand(): Command {
  const lsfs = new Command('lsfs').description('check an LSFS store and manage its snapshots (while no target serves it)');
  lsfs
    .command('check <dir>')
    .description('verify every record, every index entry and the space accounting; exit 1 on any problem')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const report = await withStore(dir, (store) => store.check());
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        process.stdout.write(`${report.ok ? 'OK' : 'PROBLEMS'}: ${report.records} records in ${report.segments} segments, ${report.mappedBlocks} blocks mapped\n`);
        for (const p of report.problems) process.stdout.write(`  ${p}\n`);
      }
      if (!report.ok) process.exitCode = 1;
    });
  lsfs
    .command('stats <dir>')
    .description('space (used, live, garbage, metadata) and index RAM')
    .option('--json', 'print as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const s = await withStore(dir, async (store) => store.stats());
      if (opts.json) return void process.stdout.write(`${JSON.stringify(s)}\n`);
      process.stdout.write(
        [
          `logical   ${mib(s.logicalBytes)}`,
          `used      ${mib(s.usedBytes)} on disk (${s.segments} segments)`,
          `live      ${mib(s.liveBytes)}`,
          `garbage   ${mib(s.garbageBytes)} (collected in the background while served)`,
          `metadata  ${mib(s.metadataBytes)}`,
          `index RAM ${mib(s.indexRamBytes)} (at most ${mib(s.indexRamLimitBytes)})`,
        ].join('\n') + '\n',
      );
    });
  const snapshot = lsfs.command('snapshot').description('read-only point-in-time copies sharing the data with the device');
  const socketHelp = 'the store is being served: ask that `tandem serve --admin-socket PATH` to do it';
  snapshot
    .command('create <dir> <name>')
    .description('take a snapshot')
    .option('--socket <path>', socketHelp)
    .action(async (dir: string, name: string, opts: { socket?: string }) => {
      if (opts.socket) return void process.stdout.write(`${JSON.stringify((await viaSocket(opts.socket, dir, 'create', name)).snapshot)}\n`);
      await withStore(dir, async (store) => void process.stdout.write(`${JSON.stringify(await store.createSnapshot(name))}\n`));
    });
  snapshot
    .command('list <dir>')
    .description('list the snapshots')
    .option('--socket <path>', socketHelp)
    .action(async (dir: string, opts: { socket?: string }) => {
      const print = (list: { name: string; createdAt: string }[]) => {
        for (const s of list) process.stdout.write(`${s.name}\t${s.createdAt}\n`);
      };
      if (opts.socket) return print((await viaSocket(opts.socket, dir, 'list')).snapshots as { name: string; createdAt: string }[]);
      await withStore(dir, async (store) => print(store.listSnapshots()));
    });
  snapshot
    .command('delete <dir> <name>')
    .description('delete a snapshot (its blocks become collectable); refused while it is exported as a LU')
    .option('--socket <path>', socketHelp)
    .action(async (dir: string, name: string, opts: { socket?: string }) => {
      if (opts.socket) return void (await viaSocket(opts.socket, dir, 'delete', name));
      await withStore(dir, (store) => store.deleteSnapshot(name));
    });
  snapshot
    .command('rollback <dir> <name>')
    .description('make the device hold the snapshot content again (the snapshot stays)')
    .action((dir: string, name: string) => withStore(dir, (store) => store.rollback(name)));
  return lsfs;
}
