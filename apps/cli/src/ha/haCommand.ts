/** `tandem ha`: a running node's HA devices, through its admin socket (`tandem serve --admin-socket PATH`). */
import { Command } from 'commander';
import { EXIT_BAD_INPUT } from '../serve/serveCommand';
import { askAdminSocket, type HaDeviceStatus, type HaPartnerRtt } from './adminSocket';

/** ", sync round trip 41 µs (floor over 10 s; last ping 57 µs)", or nothing when no ping was answered yet. */
export function rttText(p: Pick<HaPartnerRtt, 'rttMicros' | 'rttFloorMicros' | 'rttWindowSeconds'>): string {
  if (p.rttFloorMicros !== null) {
    return `, sync round trip ${p.rttFloorMicros} µs (floor over ${p.rttWindowSeconds} s${p.rttMicros !== null ? `; last ping ${p.rttMicros} µs` : ''})`;
  }
  return p.rttMicros !== null ? `, sync round trip ${p.rttMicros} µs (last ping)` : '';
}

async function ask(socket: string, request: object): Promise<Record<string, unknown>> {
  try {
    const reply = await askAdminSocket(socket, request);
    if (!reply.ok) {
      process.stderr.write(`tandem ha: ${reply.error}\n`);
      process.exit(EXIT_BAD_INPUT);
    }
    return reply;
  } catch (err) {
    process.stderr.write(`tandem ha: ${(err as Error).message}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
}

export function haCommand(): Command {
  const ha = new Command('ha').description("a running node's HA devices, through its admin socket (tandem serve --admin-socket PATH)");
  ha.command('status')
    .description('role of each HA replica on the node, and where it stands towards each partner')
    .requiredOption('--socket <path>', 'the node\'s admin socket')
    .option('--json', 'print JSON')
    .action(async (opts: { socket: string; json?: boolean }) => {
      const reply = await ask(opts.socket, { op: 'status' });
      if (opts.json) return void process.stdout.write(JSON.stringify(reply.devices, null, 2) + '\n');
      for (const d of reply.devices as HaDeviceStatus[]) {
        process.stdout.write(`${d.deviceId}  ${d.target} LUN ${d.lun}  ${d.role}${d.blockReason ? ` (${d.blockReason})` : ''}\n`);
        for (const p of d.partners) process.stdout.write(`  ${p.nodeId}: ${p.state}${p.connected ? '' : ', unreachable'}${rttText(p)}\n`);
      }
    });
  ha.command('resolve-split-brain')
    .description("after a split-brain, keep THIS node's replica: the others take a copy of it (what they wrote alone is lost)")
    .requiredOption('--socket <path>', 'the admin socket of the node whose data survives')
    .requiredOption('--device <id>', 'the device id')
    .action(async (opts: { socket: string; device: string }) => {
      await ask(opts.socket, { op: 'resolve-split-brain', deviceId: opts.device });
      process.stdout.write(`split-brain of ${opts.device} resolved: this node's replica survives; the others are being resynced from it\n`);
    });
  return ha;
}
