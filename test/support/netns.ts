// Network namespaces for multi-host fault tests: two "hosts" (namespaces) each with a front link to this
// (root) namespace for iSCSI, and two links between them — sync and heartbeat — that a test can cut and restore.
// Addresses are private ones on links the test creates; nothing is sent anywhere else. Everything is removed by
// teardown (deleting a namespace deletes its veth ends).
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';

export type LinkName = 'front' | 'sync' | 'heartbeat' | 'sync2';
/** Links between the two hosts. */
export type HostLink = Exclude<LinkName, 'front'>;

export interface LabHost {
  ns: string;
  /** Address on the front link, reachable from the root namespace (iSCSI portal). */
  front: string;
  /** The root namespace's end of that front link (where a witness in the root namespace listens for this host). */
  gateway: string;
  sync: string;
  heartbeat: string;
  /** Address on the second sync link (only with `new NetnsLab({ sync2: true })`), on a subnet of its own. */
  sync2?: string;
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

/** Why `NetnsLab.delay` cannot work here (no netem qdisc in this kernel), or undefined when it can. */
export function netemUnavailable(): string | undefined {
  const probe = `tp${randomBytes(3).toString('hex')}`;
  if (spawnSync('ip', ['netns', 'add', probe], { timeout: 10_000 }).status !== 0) return 'cannot create a network namespace';
  try {
    const r = spawnSync('ip', ['netns', 'exec', probe, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], { encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 ? undefined : `tc netem: ${(r.stderr || String(r.error)).trim()} (kernel without CONFIG_NET_SCH_NETEM?)`;
  } finally {
    spawnSync('ip', ['netns', 'del', probe], { timeout: 10_000 });
  }
}

export class NetnsLab {
  readonly tag = randomBytes(2).toString('hex');
  /** 10.<octet>.x.y: a /16 per lab, picked at random among 10.160–10.223 to keep parallel labs apart. */
  private readonly octet = 160 + (randomBytes(1)[0] % 64);
  readonly a: LabHost;
  readonly b: LabHost;
  private created = false;
  private readonly between: [HostLink, number][] = [['sync', 3], ['heartbeat', 4]];

  constructor(options: { sync2?: boolean } = {}) {
    const o = this.octet;
    this.a = { ns: `tnd${this.tag}a`, front: `10.${o}.1.2`, gateway: `10.${o}.1.1`, sync: `10.${o}.3.1`, heartbeat: `10.${o}.4.1` };
    this.b = { ns: `tnd${this.tag}b`, front: `10.${o}.2.2`, gateway: `10.${o}.2.1`, sync: `10.${o}.3.2`, heartbeat: `10.${o}.4.2` };
    if (options.sync2) {
      this.a.sync2 = `10.${o}.5.1`;
      this.b.sync2 = `10.${o}.5.2`;
      this.between.push(['sync2', 5]);
    }
  }

  private dev(host: 'a' | 'b', link: LinkName, side: 'in' | 'out' = 'in'): string {
    return `t${this.tag}${host}${link === 'sync2' ? '2' : link[0]}${side === 'in' ? '' : 'r'}`;
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
    // sync, heartbeat (and sync2): a <-> b, each on its own veth pair and subnet
    for (const [link, subnet] of this.between) {
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
  cut(link: HostLink): void {
    ip('netns', 'exec', this.a.ns, 'ip', 'link', 'set', this.dev('a', link), 'down');
    ip('netns', 'exec', this.b.ns, 'ip', 'link', 'set', this.dev('b', link), 'down');
  }

  restore(link: HostLink): void {
    ip('netns', 'exec', this.a.ns, 'ip', 'link', 'set', this.dev('a', link), 'up');
    ip('netns', 'exec', this.b.ns, 'ip', 'link', 'set', this.dev('b', link), 'up');
  }

  /** netem on both ends of a link between the hosts: every packet waits `ms` each way (round trip + 2 × ms). */
  delay(link: HostLink, ms: number): void {
    for (const host of ['a', 'b'] as const) ip('netns', 'exec', this[host].ns, 'tc', 'qdisc', 'replace', 'dev', this.dev(host, link), 'root', 'netem', 'delay', `${ms}ms`);
  }

  undelay(link: HostLink): void {
    for (const host of ['a', 'b'] as const) ip('netns', 'exec', this[host].ns, 'tc', 'qdisc', 'del', 'dev', this.dev(host, link), 'root');
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

/**
 * Three hosts for 3-replica scenarios: each with a front link to this namespace (iSCSI), and attached to two
 * switches — a sync bridge and a heartbeat bridge, each in a namespace of its own — so one host can be isolated
 * (its sync and heartbeat ports taken down: a silent cut) while the other two still see each other.
 */
export class NetnsLab3 {
  readonly tag = randomBytes(2).toString('hex');
  private readonly octet = 160 + (randomBytes(1)[0] % 64);
  readonly hosts: Record<'a' | 'b' | 'c', LabHost>;
  private readonly switchNs: string;
  private created = false;

  constructor() {
    const o = this.octet;
    const host = (name: 'a' | 'b' | 'c', n: number): LabHost => ({ ns: `tnd${this.tag}${name}`, front: `10.${o}.${n}.2`, gateway: `10.${o}.${n}.1`, sync: `10.${o}.10.${n}`, heartbeat: `10.${o}.11.${n}` });
    this.hosts = { a: host('a', 1), b: host('b', 2), c: host('c', 3) };
    this.switchNs = `tnd${this.tag}s`;
  }

  private dev(host: string, link: 'f' | 's' | 'h', side: 'in' | 'out'): string {
    return `t${this.tag}${host}${link}${side === 'in' ? '' : 'r'}`;
  }

  setup(): void {
    const o = this.octet;
    ip('netns', 'add', this.switchNs);
    this.created = true;
    for (const name of ['a', 'b', 'c'] as const) ip('netns', 'add', this.hosts[name].ns);
    const sw = (...args: string[]) => ip('netns', 'exec', this.switchNs, 'ip', ...args);
    sw('link', 'set', 'lo', 'up');
    for (const bridge of ['brs', 'brh']) {
      sw('link', 'add', bridge, 'type', 'bridge');
      sw('link', 'set', bridge, 'up');
    }
    (['a', 'b', 'c'] as const).forEach((name, i) => {
      const h = this.hosts[name];
      const n = i + 1;
      const inHost = (...args: string[]) => ip('netns', 'exec', h.ns, 'ip', ...args);
      inHost('link', 'set', 'lo', 'up');
      ip('link', 'add', this.dev(name, 'f', 'out'), 'type', 'veth', 'peer', 'name', this.dev(name, 'f', 'in'));
      ip('link', 'set', this.dev(name, 'f', 'in'), 'netns', h.ns);
      ip('addr', 'add', `10.${o}.${n}.1/24`, 'dev', this.dev(name, 'f', 'out'));
      ip('link', 'set', this.dev(name, 'f', 'out'), 'up');
      inHost('addr', 'add', `${h.front}/24`, 'dev', this.dev(name, 'f', 'in'));
      inHost('link', 'set', this.dev(name, 'f', 'in'), 'up');
      for (const [link, bridge, subnet] of [['s', 'brs', 10], ['h', 'brh', 11]] as const) {
        ip('link', 'add', this.dev(name, link, 'out'), 'type', 'veth', 'peer', 'name', this.dev(name, link, 'in'));
        ip('link', 'set', this.dev(name, link, 'in'), 'netns', h.ns);
        ip('link', 'set', this.dev(name, link, 'out'), 'netns', this.switchNs);
        sw('link', 'set', this.dev(name, link, 'out'), 'master', bridge);
        sw('link', 'set', this.dev(name, link, 'out'), 'up');
        inHost('addr', 'add', `10.${o}.${subnet}.${n}/24`, 'dev', this.dev(name, link, 'in'));
        inHost('link', 'set', this.dev(name, link, 'in'), 'up');
      }
    });
  }

  /** Cuts a host off the sync and heartbeat switches (its iSCSI front link stays up). */
  isolate(name: 'a' | 'b' | 'c'): void {
    for (const link of ['s', 'h'] as const) ip('netns', 'exec', this.hosts[name].ns, 'ip', 'link', 'set', this.dev(name, link, 'in'), 'down');
  }

  rejoin(name: 'a' | 'b' | 'c'): void {
    for (const link of ['s', 'h'] as const) ip('netns', 'exec', this.hosts[name].ns, 'ip', 'link', 'set', this.dev(name, link, 'in'), 'up');
  }

  exec(name: 'a' | 'b' | 'c'): string[] {
    return ['ip', 'netns', 'exec', this.hosts[name].ns];
  }

  teardown(): void {
    if (!this.created) return;
    for (const name of ['a', 'b', 'c'] as const) {
      spawnSync('ip', ['netns', 'del', this.hosts[name].ns], { timeout: 10_000 });
      spawnSync('ip', ['link', 'del', this.dev(name, 'f', 'out')], { timeout: 10_000 });
    }
    spawnSync('ip', ['netns', 'del', this.switchNs], { timeout: 10_000 });
    this.created = false;
  }
}
