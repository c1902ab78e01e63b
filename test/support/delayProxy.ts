// A TCP relay that delays every chunk by a settable number of milliseconds each way, run inside a network namespace:
// a slow link where the kernel has no netem. Order is kept (a chunk never overtakes an earlier one); no backpressure.
import type { ChildProcess } from 'child_process';
import { spawnTracked, stopChild, until } from '@tandem/testing';

// Runs in the namespace: argv = JSON [[listen, target], …]; stdin lines set the delay in ms.
const RELAY = `
const net = require('net');
let delay = 0;
require('readline').createInterface({ input: process.stdin }).on('line', (l) => { delay = Number(l) || 0; console.log('delay ' + delay); });
function pipe(src, dst) {
  const q = []; let timer = null; let lastDue = 0;
  const drain = () => { timer = null; const now = Date.now(); while (q.length && q[0][0] <= now) dst.write(q.shift()[1]); if (q.length) timer = setTimeout(drain, q[0][0] - now); };
  src.on('data', (c) => { const due = Math.max(Date.now() + delay, lastDue); lastDue = due; q.push([due, c]); if (!timer) timer = setTimeout(drain, Math.max(0, due - Date.now())); });
  src.on('close', () => dst.destroy());
  src.on('error', () => dst.destroy());
}
let listening = 0;
const pairs = JSON.parse(process.argv[1]);
for (const [listen, target] of pairs) {
  net.createServer((a) => { a.setNoDelay(true); const b = net.connect(target.port, target.host); b.setNoDelay(true); pipe(a, b); pipe(b, a); })
    .listen(listen.port, listen.host, () => { if (++listening === pairs.length) console.log('ready'); });
}
`;

type Endpoint = { host: string; port: number };

export class DelayProxy {
  private child?: ChildProcess;
  private output = '';

  /** `exec`: argv prefix entering the namespace (NetnsLab.exec); each pair relays `listen` to `target`. */
  constructor(
    private readonly exec: string[],
    private readonly pairs: [listen: Endpoint, target: Endpoint][],
  ) {}

  async start(): Promise<void> {
    const [cmd, ...args] = [...this.exec, process.execPath, '-e', RELAY, JSON.stringify(this.pairs)];
    const child = spawnTracked(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    for (const s of [child.stdout, child.stderr]) s?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    await until(() => /ready/.test(this.output) || child.exitCode !== null, 'the delay relay to listen', 20_000);
    if (child.exitCode !== null) throw new Error(`delay relay exited:\n${this.output.slice(-2000)}`);
  }

  /** Every chunk from now on waits `ms` in each direction. */
  async setDelay(ms: number): Promise<void> {
    const from = this.output.length;
    this.child!.stdin!.write(`${ms}\n`);
    await until(() => this.output.slice(from).includes(`delay ${ms}`), `the relay to take a ${ms} ms delay`, 10_000);
  }

  async stop(): Promise<void> {
    this.child?.stdin?.end();
    await stopChild(this.child, 3000);
  }
}
