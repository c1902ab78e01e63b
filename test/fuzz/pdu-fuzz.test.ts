// Throws ≥100,000 malformed, truncated, random and mutated PDUs at the target over many raw TCP connections while a
// real initiator (qemu-io) keeps writing and verifying data on another target. The target must stay up, answer every
// bad connection with a Reject / login reject or a close (none left hanging), keep the healthy I/O correct, and
// leave the rest of the healthy disk untouched. FUZZ_SEED=<n> replays a run.
import * as crypto from 'crypto';
import * as path from 'path';
import { MiB, createRandomImage, hashRange, makeTempDir, removeDir } from '../support/files';
import {
  BHS,
  buildPdu,
  crc32cLE,
  dataOutPdu,
  describeResult,
  Digests,
  login,
  loginPdu,
  lunField,
  NO_DIGESTS,
  nopOutPdu,
  Op,
  RawConnection,
  read10,
  run,
  scsiCommandPdu,
  textData,
  write10,
} from '@tandem/testing';
import { RunningTarget, startTarget, targetBinaries } from '../support/target';
import { describeWithTools, findBinary } from '../support/tools';

const HEALTHY_IQN = 'iqn.2026-11.io.tandem:healthy-disk';
const FUZZ_IQN = 'iqn.2026-11.io.tandem:fuzz-playground';
const DISK = 64 * MiB;
const HEALTHY_REGION = 8 * MiB; // the healthy session only touches [0, 8 MiB) of its LUN
const TARGET_PDUS = Number(process.env.FUZZ_PDUS ?? 100_000);
// Bounded by work (TARGET_PDUS), not by time: a busy machine only takes longer. The run stops early only when the
// fuzzing makes no progress for this long (something hung), or at the hard cap.
const FUZZ_STALL_MS = Number(process.env.FUZZ_STALL_MS ?? 60_000);
const FUZZ_DEADLINE_MS = Number(process.env.FUZZ_DEADLINE_MS ?? 20 * 60_000);
const CONCURRENCY = 24;
/** all | pre-login | full-feature: narrows the mix when triaging a crash. */
const FUZZ_MODE = process.env.FUZZ_MODE ?? 'all';
const CLOSE_BOUND_MS = 10_000; // after our FIN, the target must close within this

// mulberry32: small, seedable, good enough to pick mutations reproducibly.
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  // Bulk bytes come from an AES-CTR keystream keyed by the seed: reproducible and fast.
  const stream = crypto.createCipheriv('aes-128-ctr', crypto.createHash('md5').update(String(seed)).digest(), Buffer.alloc(16));
  const bytes = (n: number): Buffer => stream.update(Buffer.alloc(n));
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, bytes, pick };
}
type Rng = ReturnType<typeof prng>;

const VALID_INITIATOR_OPCODES = new Set([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x1c, 0x1d, 0x1e]);
const INVALID_OPCODES = Array.from({ length: 64 }, (_, i) => i).filter((o) => !VALID_INITIATOR_OPCODES.has(o));

function flipBytes(rng: Rng, buf: Buffer, count: number, from = 0): Buffer {
  const out = Buffer.from(buf);
  for (let i = 0; i < count && out.length > from; i++) out[from + rng.int(out.length - from)] ^= 1 + rng.int(255);
  return out;
}

function validLogin(rng: Rng, overrides: Partial<Parameters<typeof loginPdu>[0]> = {}): Buffer {
  return loginPdu({
    transit: true,
    csg: 0,
    nsg: 1,
    isid: Buffer.from([0x80, 0, 0, 0, rng.int(256), rng.int(256)]),
    itt: rng.int(1000),
    cmdSN: 1,
    expStatSN: 0,
    keys: { InitiatorName: 'iqn.2026-11.io.tandem:fuzzer', TargetName: FUZZ_IQN, SessionType: 'Normal', AuthMethod: 'None' },
    ...overrides,
  });
}

/** PDUs for a connection that never logs in. */
function preLoginBurst(rng: Rng): { kind: string; pdus: Buffer[] } {
  const kinds = ['random-bytes', 'random-bhs', 'bad-opcode', 'truncated-header', 'length-beyond-limit', 'login-out-of-order', 'login-mutated', 'ffp-pdu-before-login'] as const;
  const kind = rng.pick(kinds);
  const n = 1 + rng.int(12);
  const pdus: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    switch (kind) {
      case 'random-bytes':
        pdus.push(rng.bytes(1 + rng.int(rng.next() < 0.8 ? 64 : 4096)));
        break;
      case 'random-bhs': {
        const h = rng.bytes(BHS);
        h.writeUIntBE(rng.int(512), 5, 3); // small declared length so the data may really follow
        h[4] = rng.int(4);
        pdus.push(Buffer.concat([h, rng.bytes(rng.int(600))]));
        break;
      }
      case 'bad-opcode':
        pdus.push(buildPdu({ opcode: rng.pick(INVALID_OPCODES), immediate: rng.next() < 0.5, flags: rng.int(256), itt: rng.int(1 << 30), words: [rng.int(2 ** 32), rng.int(2 ** 32)] }, rng.next() < 0.3 ? rng.bytes(rng.int(64)) : Buffer.alloc(0)));
        break;
      case 'truncated-header':
        pdus.push(validLogin(rng).subarray(0, 1 + rng.int(BHS - 1)));
        i = n; // the rest of the stream is this partial header; then FIN
        break;
      case 'length-beyond-limit': {
        const data = textData({ InitiatorName: 'iqn.2026-11.io.tandem:fuzzer', TargetName: FUZZ_IQN });
        const lie = rng.pick([0xffffff, 0x800000, 0x40000 + rng.int(0x10000), 0x2001 + rng.int(0x10000)]);
        const pdu = loginPdu({ transit: true, csg: 0, nsg: 1, isid: rng.bytes(6), itt: 1, cmdSN: 1, expStatSN: 0, keys: data });
        pdu.writeUIntBE(lie, 5, 3);
        pdus.push(Buffer.concat([pdu, rng.bytes(rng.int(8192))]));
        i = n;
        break;
      }
      case 'login-out-of-order': {
        const variant = rng.int(8);
        const base = { transit: true, csg: 0, nsg: 1, isid: rng.bytes(6), itt: 7, cmdSN: 1, expStatSN: 0, keys: { InitiatorName: 'iqn.2026-11.io.tandem:fuzzer', TargetName: FUZZ_IQN, SessionType: 'Normal' } as Record<string, string> };
        if (variant === 0) pdus.push(loginPdu({ ...base, csg: 3, nsg: 3 })); // starts in full feature phase
        if (variant === 1) pdus.push(loginPdu({ ...base, csg: 1, nsg: 0 })); // goes backwards
        if (variant === 2) pdus.push(loginPdu({ ...base, csg: 0, nsg: 2 })); // reserved stage
        if (variant === 3) pdus.push(loginPdu({ ...base, tsih: 1 + rng.int(0xfffe) })); // joins an unknown session
        if (variant === 4) {
          const p = loginPdu(base);
          p[2] = 0;
          p[3] = 0x10 + rng.int(0xef); // VersionMin above VersionMax
          pdus.push(p);
        }
        if (variant === 5) pdus.push(loginPdu({ ...base, keys: { InitiatorName: 'iqn.2026-11.io.tandem:fuzzer', TargetName: 'iqn.2026-11.io.tandem:does-not-exist' } }));
        if (variant === 6) pdus.push(loginPdu({ ...base, keys: { TargetName: FUZZ_IQN } })); // no InitiatorName
        if (variant === 7) pdus.push(loginPdu({ ...base, keys: Buffer.from(`InitiatorName=${'x'.repeat(rng.int(9000))}`) })); // no NUL, too long
        break;
      }
      case 'login-mutated':
        pdus.push(flipBytes(rng, validLogin(rng), 1 + rng.int(8)));
        break;
      case 'ffp-pdu-before-login':
        pdus.push(rng.next() < 0.5
          ? scsiCommandPdu({ lun: 0, itt: i, cmdSN: i, expStatSN: 0, cdb: write10(rng.int(1000), 1), write: true, expectedLength: 512, immediateData: rng.bytes(512) })
          : dataOutPdu({ lun: 0, itt: rng.int(100), ttt: rng.int(100), expStatSN: 0, dataSN: 0, offset: 0, final: true, data: rng.bytes(512) }));
        break;
    }
  }
  return { kind: `pre-login:${kind}`, pdus };
}

/** PDUs sent after a real login to the fuzz target, using whatever digests were negotiated. */
function fullFeatureBurst(rng: Rng, digests: Digests, maxRecv: number, cmdSNStart: number): { kind: string; pdus: Buffer[] } {
  const pdus: Buffer[] = [];
  let cmdSN = cmdSNStart;
  let itt = 0x1000;
  const n = 20 + rng.int(200);
  const kinds = ['random-cdb', 'mutated-io', 'data-for-unknown-task', 'length-beyond-limit', 'bad-header-digest', 'bad-data-digest', 'bad-opcode', 'tmf', 'snack', 'text-garbage', 'cmdsn-out-of-window', 'random-bhs', 'nop'] as const;
  const used = new Set<string>();
  for (let i = 0; i < n; i++) {
    const kind = rng.pick(kinds);
    used.add(kind);
    switch (kind) {
      case 'random-cdb': {
        const cdb = rng.bytes(16);
        const write = rng.next() < 0.3;
        pdus.push(scsiCommandPdu({ lun: rng.int(4), itt: itt++, cmdSN: cmdSN++, expStatSN: 0, cdb, read: !write && rng.next() < 0.5, write, expectedLength: rng.int(65536), immediateData: write ? rng.bytes(rng.int(4096)) : undefined }, digests));
        break;
      }
      case 'mutated-io': {
        const write = rng.next() < 0.5;
        const pdu = scsiCommandPdu({ lun: 0, itt: itt++, cmdSN: cmdSN++, expStatSN: 0, cdb: write ? write10(rng.int(DISK / 512), 8) : read10(rng.int(DISK / 512), 8), read: !write, write, expectedLength: 4096, immediateData: write ? rng.bytes(4096) : undefined }, NO_DIGESTS);
        const mutated = flipBytes(rng, pdu.subarray(0, BHS), 1 + rng.int(4));
        const rest = pdu.subarray(BHS);
        const declared = mutated.readUIntBE(5, 3);
        // keep the stream parseable half of the time: send what the mutated header announces
        const body = rng.next() < 0.5 ? rest : Buffer.concat([rest, Buffer.alloc(Math.max(0, declared + ((4 - (declared % 4)) % 4) - rest.length))]).subarray(0, declared + ((4 - (declared % 4)) % 4));
        pdus.push(Buffer.concat([mutated, digests.header ? crc32cLE(mutated) : Buffer.alloc(0), body, digests.data && body.length ? crc32cLE(body) : Buffer.alloc(0)]));
        break;
      }
      case 'data-for-unknown-task':
        pdus.push(dataOutPdu({ lun: 0, itt: 0x7000000 + rng.int(1000), ttt: rng.int(2 ** 32), expStatSN: 0, dataSN: rng.int(10), offset: rng.int(1 << 20), final: rng.next() < 0.5, data: rng.bytes(512 * (1 + rng.int(8))) }, digests));
        break;
      case 'length-beyond-limit':
        pdus.push(nopOutPdu({ itt: itt++, cmdSN, expStatSN: 0, data: rng.bytes(maxRecv + 1 + rng.int(8192)) }, digests));
        break;
      case 'bad-header-digest': {
        const p = nopOutPdu({ itt: itt++, cmdSN, expStatSN: 0 }, { header: true, data: digests.data });
        p[BHS + rng.int(4)] ^= 0xff;
        pdus.push(p);
        break;
      }
      case 'bad-data-digest': {
        const p = nopOutPdu({ itt: itt++, cmdSN, expStatSN: 0, data: rng.bytes(64) }, { header: digests.header, data: true });
        p[p.length - 1 - rng.int(4)] ^= 0xff;
        pdus.push(p);
        break;
      }
      case 'bad-opcode':
        pdus.push(buildPdu({ opcode: rng.pick(INVALID_OPCODES), flags: rng.int(256), itt: itt++, words: [0, cmdSN++, 0] }, Buffer.alloc(0), digests));
        break;
      case 'tmf':
        pdus.push(buildPdu({ opcode: Op.TaskMgmt, immediate: true, flags: 0x80 | rng.int(128), lunOrIsid: lunField(rng.int(4)), itt: itt++, words: [rng.int(2 ** 32), cmdSN, 0, rng.int(2 ** 32), rng.int(2 ** 32)] }, Buffer.alloc(0), digests));
        break;
      case 'snack':
        pdus.push(buildPdu({ opcode: Op.Snack, flags: 0x80 | rng.int(4), itt: rng.int(2 ** 32), words: [0xffffffff, 0, 0, 0, 0, rng.int(100), rng.int(100)] }, Buffer.alloc(0), digests));
        break;
      case 'text-garbage':
        pdus.push(buildPdu({ opcode: Op.TextRequest, immediate: true, flags: rng.next() < 0.5 ? 0x80 : 0x40, itt: itt++, words: [0xffffffff, cmdSN, 0] }, rng.next() < 0.5 ? rng.bytes(rng.int(2048)) : textData({ SendTargets: 'All', [`X-${rng.int(1e6)}`]: 'y'.repeat(rng.int(5000)) }), digests));
        break;
      case 'cmdsn-out-of-window':
        pdus.push(scsiCommandPdu({ lun: 0, itt: itt++, cmdSN: cmdSN + 1_000_000 + rng.int(2 ** 30), expStatSN: 0, cdb: read10(0, 1), read: true, expectedLength: 512 }, digests));
        break;
      case 'random-bhs': {
        const h = rng.bytes(BHS);
        h[4] = 0;
        h.writeUIntBE(rng.int(256), 5, 3);
        pdus.push(Buffer.concat([h, digests.header ? crc32cLE(h) : Buffer.alloc(0), rng.bytes(rng.int(300))]));
        break;
      }
      case 'nop':
        pdus.push(nopOutPdu({ itt: itt++, cmdSN, expStatSN: 0, data: rng.bytes(rng.int(256)) }, digests));
        break;
    }
  }
  return { kind: `full-feature:${[...used].length}-kinds`, pdus };
}

interface Tally {
  pdus: number;
  connections: number;
  rejects: number;
  loginRejects: number;
  closedByTarget: number;
  closedAfterFin: number;
  hung: Array<{ kind: string; seed: number }>;
  loginFailures: number;
  connectErrors: number;
  byKind: Record<string, number>;
  slowest: Array<{ kind: string; seed: number; ms: number }>;
}

async function fuzzOneConnection(port: number, seed: number, tally: Tally): Promise<void> {
  const rng = prng(seed);
  let conn: RawConnection;
  try {
    conn = await RawConnection.connect('127.0.0.1', port, 5000);
  } catch {
    tally.connectErrors++;
    return;
  }
  tally.connections++;
  const t0 = Date.now();
  let kind = '';
  try {
    let burst: { kind: string; pdus: Buffer[] };
    const preLogin = rng.next() < 0.5;
    if (FUZZ_MODE === 'pre-login' || (preLogin && FUZZ_MODE !== 'full-feature')) {
      burst = preLoginBurst(rng);
    } else {
      try {
        const s = await login(conn, {
          targetName: FUZZ_IQN,
          initiatorName: `iqn.2026-11.io.tandem:fuzzer-${seed % 97}`,
          headerDigest: rng.next() < 0.5 ? 'CRC32C' : 'None',
          dataDigest: rng.next() < 0.5 ? 'CRC32C' : 'None',
          timeoutMs: 5000,
        });
        tally.pdus += 2;
        burst = fullFeatureBurst(rng, conn.digests, s.maxSendDataSegment, s.cmdSN);
      } catch {
        tally.loginFailures++;
        burst = { kind: 'login-failed', pdus: [] };
      }
    }
    kind = burst.kind;
    // per-kind count
    tally.byKind[kind.split(':').slice(0, 2).join(':')] = (tally.byKind[kind.split(':').slice(0, 2).join(':')] ?? 0) + 1;
    // Write in groups so a target that closes early stops the count at what it was really sent.
    for (let i = 0; i < burst.pdus.length; i += 16) {
      const group = burst.pdus.slice(i, i + 16);
      if (!(await conn.send(Buffer.concat(group)))) break;
      tally.pdus += group.length;
    }
    const closedBeforeFin = conn.closed;
    conn.socket.end();
    const deadline = Date.now() + CLOSE_BOUND_MS;
    for (;;) {
      const r = await conn.readPdu(Math.max(1, deadline - Date.now()));
      if (r === 'closed') {
        if (closedBeforeFin) tally.closedByTarget++;
        else tally.closedAfterFin++;
        break;
      }
      if (r === 'timeout') {
        tally.hung.push({ kind, seed });
        break;
      }
      if (r.opcode === Op.Reject) tally.rejects++;
      if (r.opcode === Op.LoginResponse && r.bhs[36] !== 0) tally.loginRejects++;
    }
  } finally {
    conn.destroy();
    const ms = Date.now() - t0;
    const k = `ms:${kind.split(':')[0]}`;
    tally.byKind[k] = (tally.byKind[k] ?? 0) + ms;
    if (tally.slowest.length < 5 || ms > tally.slowest[tally.slowest.length - 1].ms) {
      tally.slowest = [...tally.slowest, { kind, seed, ms }].sort((a, b) => b.ms - a.ms).slice(0, 5);
    }
  }
}

describeWithTools(['qemu-io', ...targetBinaries()], 'PDU fuzzing with a concurrent healthy session', () => {
  let dir: string;
  let target: RunningTarget | undefined;
  let healthyFile: string;
  let hashBefore: string;

  beforeAll(async () => {
    dir = makeTempDir();
    healthyFile = createRandomImage(path.join(dir, 'healthy.img'), DISK, 'fuzz-healthy');
    hashBefore = hashRange(healthyFile, HEALTHY_REGION, DISK - HEALTHY_REGION);
    target = await startTarget({
      dir,
      targets: [
        { iqn: HEALTHY_IQN, luns: [{ lun: 0, size: DISK, file: healthyFile }] },
        { iqn: FUZZ_IQN, luns: [{ lun: 0, size: DISK }] },
      ],
    });
  });

  afterAll(async () => {
    await target?.stop();
    removeDir(dir);
  });

  test(`≥${TARGET_PDUS} bad PDUs: target stays up, answers or closes, healthy I/O stays correct`, async () => {
    const baseSeed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`FUZZ_SEED=${baseSeed}`);
    const tally: Tally = { pdus: 0, connections: 0, rejects: 0, loginRejects: 0, closedByTarget: 0, closedAfterFin: 0, hung: [], loginFailures: 0, connectErrors: 0, byKind: {}, slowest: [] };
    const started = Date.now();
    let fuzzing = true;

    // The healthy initiator: qemu-io writes a pattern and reads it back, over and over, until the fuzzing stops.
    const healthy = { ok: 0, failures: [] as string[] };
    const healthyLoop = (async () => {
      for (let i = 0; fuzzing && i < 10_000; i++) {
        const pattern = `0x${(1 + (i % 254)).toString(16)}`;
        const off = ((i * 65536 * 7) % (HEALTHY_REGION - 256 * 1024)).toString();
        const args = ['-f', 'raw', '-c', `write -P ${pattern} ${off} 256k`, '-c', `read -P ${pattern} ${off} 256k`, target!.url(0, { iqn: HEALTHY_IQN })];
        const r = await run('qemu-io', args, { timeoutMs: 30_000 });
        if (r.code === 0 && !/failed|error/i.test(r.stdout + r.stderr)) healthy.ok++;
        else healthy.failures.push(describeResult(`qemu-io ${args.join(' ')}`, r));
      }
    })();

    let nextSeed = 0;
    let progressAt = Date.now();
    let progressPdus = 0;
    const progressing = () => {
      if (tally.pdus > progressPdus) [progressPdus, progressAt] = [tally.pdus, Date.now()];
      return Date.now() - progressAt < FUZZ_STALL_MS;
    };
    const worker = async () => {
      while (tally.pdus < TARGET_PDUS && progressing() && Date.now() - started < FUZZ_DEADLINE_MS && target!.isAlive()) {
        await fuzzOneConnection(target!.port, baseSeed + nextSeed++, tally);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    fuzzing = false;
    await healthyLoop;
    const elapsed = Date.now() - started;
    console.log(JSON.stringify({ elapsedMs: elapsed, ...tally, hung: tally.hung.length, hungSample: tally.hung.slice(0, 5), healthyOk: healthy.ok, healthyFailures: healthy.failures.length }, null, 1));

    expect({ alive: target!.isAlive(), exit: target!.exitStatus(), log: target!.isAlive() ? '' : target!.log().slice(-4000) }).toEqual({ alive: true, exit: 'running', log: '' });
    expect(tally.pdus).toBeGreaterThanOrEqual(TARGET_PDUS);
    expect(tally.hung).toEqual([]);
    expect(tally.connectErrors).toBe(0);
    expect(healthy.failures.slice(0, 3)).toEqual([]);
    expect(healthy.ok).toBeGreaterThanOrEqual(3);

    // After the storm: a fresh real login still works, and the healthy disk outside its session's region is unchanged.
    if (findBinary('iscsi-readcapacity16')) {
      const r = await run('iscsi-readcapacity16', [target!.url(0, { iqn: HEALTHY_IQN })], { timeoutMs: 20_000 });
      expect({ code: r.code, out: describeResult('iscsi-readcapacity16', r) }).toMatchObject({ code: 0 });
    }
    expect(hashRange(healthyFile, HEALTHY_REGION, DISK - HEALTHY_REGION)).toBe(hashBefore);
  }, FUZZ_DEADLINE_MS + 120_000);
});
