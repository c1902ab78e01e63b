// Network namespaces for multi-host fault tests: two "hosts" (namespaces) each with a front link to this
// (root) namespace for iSCSI, and two links between them — sync and heartbeat — that a test can cut and restore.
// Addresses are private ones on links the test creates; nothing is sent anywhere else. Everything is removed by
// teardown (deleting a namespace deletes its veth ends).
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';

export type LinkName = 'front' | 'sync' | 'heartbeat';

export interface LabHost {
  ns: string;
  /** Address on the front link, reachable from the root namespace (iSCSI portal). */
  front: string;
  /** The root namespace's end of that front link (where a witness in the root namespace listens for this host). */
  gateway: string;
  sync: string;
  heartbeat: string;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr || r.error}`);
}

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const probe = `tp${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return `cannot create a network namespace: ${(r.stderr || String(r.error)).trim()}`;
  spawnSync('ip', ['netns', 'del', probe], { timeout: 10_000 });
  return undefined;
}

export class NetnsLab {
  readonly tag = randomBytes(2).toString('hex');
  /** 10.<octet>.x.y: a /16 per lab, picked at random among 10.160–10.223 to keep parallel labs apart. */
  private readonly octet = 160 + (randomBytes(1)[0] % 64);
  readonly a: LabHost;
  readonly b: LabHost;
  private created = false;

  constructor() {
    const o = this.octet;
    this.a = { ns: `tnd${this.tag}a`, front: `10.${o}.1.2`, gateway: `10.${o}.1.1`, sync: `10.${o}.3.1`, heartbeat: `10.${o}.4.1` };
    this.b = { ns: `tnd${this.tag}b`, front: `10.${o}.2.2`, gateway: `10.${o}.2.1`, sync: `10.${o}.3.2`, heartbeat: `10.${o}.4.2` };
  }

  private dev(host: 'a' | 'b', link: LinkName, side: 'in' | 'out' = 'in'): string {
    return `t${this.tag}${host}${link[0]}${side === 'in' ? '' : 'r'}`;
  }

  setup(): void {
    const o = this.octet;
    for (const host of ['a', 'b'] as const) ip('netns', 'add', this[host].ns);
    this.created = true;
    for (const host of ['a', 'b'] as const) {
      const h = this[host];
      const n = host === 'a' ? 1 : 2;
      ip('netns', 'exec', h.ns, 'ip', 'link', 'set', 'lo', 'up');
      // front: root <-> host
      ip('link', 'add', this.dev(host, 'front', 'out'), 'type', 'veth', 'peer', 'name', this.dev(host, 'front'));
      ip('link', 'set', this.dev(host, 'front'), 'netns', h.ns);
      ip('addr', 'add', `10.${o}.${n}.1/24`, 'dev', this.dev(host, 'front', 'out'));
      ip('link', 'set', this.dev(host, 'front', 'out'), 'up');
      ip('netns', 'exec', h.ns, 'ip', 'addr', 'add', `${h.front}/24`, 'dev', this.dev(host, 'front'));
      ip('netns', 'exec', h.ns, 'ip', 'link', 'set', this.dev(host, 'front'), 'up');
    }
    // sync and heartbeat: a <-> b, each on its own veth pair and subnet
    for (const [link, subnet] of [['sync', 3], ['heartbeat', 4]] as const) {
      ip('link', 'add', this.dev('a', link), 'type', 'veth', 'peer', 'name', this.dev('b', link));
      ip('link', 'set', this.dev('a', link), 'netns', this.a.ns);
      ip('link', 'set', this.dev('b', link), 'netns', this.b.ns);
      ip('netns', 'exec', this.a.ns, 'ip', 'addr', 'add', `10.${o}.${subnet}.1/24`, 'dev', this.dev('a', link));
      ip('netns', 'exec', this.b.ns, 'ip', 'addr', 'add', `10.${o}.${subnet}.2/24`, 'dev', this.dev('b', link));
      ip('netns', 'exec', this.a.ns, 'ip', 'link', 'set', this.dev('a', link), 'up');
      ip('netns', 'exec', this.b.ns, 'ip', 'link', 'set', this.dev('b', link), 'up');
    }
  }

  /** Takes a link between the hosts down (both ends): packets are dropped silently, as with a cut cable. */
  cut(link: 'sync' | 'heartbeat'): void {
    ip('netns', 'exec', this.a.ns, 'ip', 'link', 'set', this.dev('a', link), 'down');
    ip('netns', 'exec', this.b.ns, 'ip', 'link', 'set', this.dev('b', link), 'down');
  }

  restore(link: 'sync' | 'heartbeat'): void {
    ip('netns', 'exec', this.a.ns, 'ip', 'link', 'set', this.dev('a', link), 'up');
    ip('netns', 'exec', this.b.ns, 'ip', 'link', 'set', this.dev('b', link), 'up');
  }

  /** argv prefix that runs a command inside a host's namespace. */
  exec(host: 'a' | 'b'): string[] {
    return ['ip', 'netns', 'exec', this[host].ns];
  }

  teardown(): void {
    if (!this.created) return;
    for (const host of ['a', 'b'] as const) {
      spawnSync('ip', ['netns', 'del', this[host].ns], { timeout: 10_000 });
      spawnSync('ip', ['link', 'del', this.dev(host, 'front', 'out')], { timeout: 10_000 });
    }
    this.created = false;
  }
}
