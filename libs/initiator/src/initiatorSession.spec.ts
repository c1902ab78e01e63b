// The initiator session against the real target (`tandem serve` as a child process): login and negotiation,
// CHAP, immediate / unsolicited / R2T data, digests, the CmdSN window, NOP-In, sense, logout, connection loss.
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { inquiry, read16, testUnitReady, write16 } from './cdb';
import { InitiatorSession, LoginError, PathFailedError, SessionOptions } from './initiatorSession';
import { IscsiDevice } from './scsiDevice';
import { ScsiCommandError, ScsiStatus, SenseKey } from './sense';
import { ChildTarget, HOST, MiB, makeTempDir, removeDir, sleep, startTandemServe } from './tandemTarget.spec-helper';
import { freePort, until } from '@tandem/testing';
import { TcpProxy } from './tcpProxy.spec-helper';

jest.setTimeout(120_000); // a child target per file and waits bounded by condition (up to 30 s each on a busy machine)

const PLAIN = 'iqn.2026-11.io.tandem:initiator-plain';
const CHAP = 'iqn.2026-11.io.tandem:initiator-chap';
const MUTUAL = 'iqn.2026-11.io.tandem:initiator-mutual';
const BLOCK = 512;

describe('InitiatorSession against tandem serve', () => {
  let dir: string;
  let port: number;
  let target: ChildTarget;
  const sessions: InitiatorSession[] = [];

  const open = async (o: Partial<SessionOptions> = {}): Promise<InitiatorSession> => {
    const s = await InitiatorSession.connect({ host: HOST, port, targetName: PLAIN, ...o });
    sessions.push(s);
    return s;
  };
  const imageBytes = (lba: number, length: number): Buffer => {
    const fd = fs.openSync(path.join(dir, 'plain.img'), 'r');
    try {
      const b = Buffer.alloc(length);
      fs.readSync(fd, b, 0, length, lba * BLOCK);
      return b;
    } finally {
      fs.closeSync(fd);
    }
  };
  /** Runs a command, consuming the unit attention a new nexus starts with. */
  const run = async (s: InitiatorSession, cdb: Buffer, o: Parameters<InitiatorSession['command']>[2] = {}) => {
    let r = await s.command(0, cdb, o);
    for (let i = 0; i < 4 && r.status === ScsiStatus.CheckCondition && r.sense?.key === SenseKey.UnitAttention; i++) r = await s.command(0, cdb, o);
    return r;
  };

  beforeAll(async () => {
    dir = makeTempDir();
    port = await freePort();
    target = await startTandemServe([
      '--listen', `${HOST}:${port}`,
      '--nop-interval', '1', '--nop-timeout', '3',
      '--target', PLAIN, '--lun', `0=flat:${path.join(dir, 'plain.img')},size=64MiB,create`,
      '--target', CHAP, '--lun', `0=flat:${path.join(dir, 'chap.img')},size=8MiB,create`, '--chap', 'alice:alice-secret-123',
      '--target', MUTUAL, '--lun', `0=flat:${path.join(dir, 'mutual.img')},size=8MiB,create`, '--chap', 'bob:bob-secret-12345:tgt:target-secret-99',
    ], dir);
  });
  afterEach(() => {
    for (const s of sessions.splice(0)) s.destroy();
  });
  afterAll(async () => {
    await target?.stop();
    removeDir(dir);
  });

  it('logs in with AuthMethod=None, negotiates, and reports the POWER ON unit attention as sense', async () => {
    const s = await open();
    expect(s.phase).toBe('full-feature');
    expect(s.params).toMatchObject({
      headerDigest: false, dataDigest: false, initialR2T: false, immediateData: true,
      maxXmitDataSegmentLength: 262144, maxBurstLength: 1048576, firstBurstLength: 262144, targetPortalGroupTag: 1,
    });
    expect(s.params.tsih).toBeGreaterThan(0);
    const first = await s.command(0, testUnitReady());
    expect(first.status).toBe(ScsiStatus.CheckCondition);
    expect(first.sense).toMatchObject({ key: SenseKey.UnitAttention, asc: 0x29 });
    expect((await s.command(0, testUnitReady())).status).toBe(ScsiStatus.Good);
  });

  it('writes and reads back a small block with immediate data', async () => {
    const s = await open();
    const data = randomBytes(4096);
    expect((await run(s, write16(8, 8), { dataOut: data })).status).toBe(ScsiStatus.Good);
    const r = await run(s, read16(8, 8), { readLength: 4096 });
    expect(r.status).toBe(ScsiStatus.Good);
    expect(r.data.equals(data)).toBe(true);
    expect(imageBytes(8, 4096).equals(data)).toBe(true);
  });

  it.each([
    ['immediate + unsolicited Data-Out, then R2Ts', { initialR2T: false, immediateData: true, firstBurstLength: 65536 }],
    ['R2T only (InitialR2T=Yes, ImmediateData=No)', { initialR2T: true, immediateData: false, maxBurstLength: 131072 }],
    ['immediate data then R2Ts, small segments', { initialR2T: true, immediateData: true, maxBurstLength: 65536, maxRecvDataSegmentLength: 8192 }],
  ])('moves a large transfer by %s', async (_name, tuning) => {
    const s = await open(tuning);
    expect(s.params.initialR2T).toBe(tuning.initialR2T);
    expect(s.params.immediateData).toBe(tuning.immediateData);
    const blocks = 6 * 1024 + 1; // 3 MiB + one block: not a multiple of any burst
    const data = randomBytes(blocks * BLOCK);
    const lba = 4096;
    expect((await run(s, write16(lba, blocks), { dataOut: data })).status).toBe(ScsiStatus.Good);
    expect(imageBytes(lba, data.length).equals(data)).toBe(true);
    const into = Buffer.alloc(data.length);
    const r = await run(s, read16(lba, blocks), { readLength: data.length, readInto: into });
    expect(r.status).toBe(ScsiStatus.Good);
    expect(r.data).toBe(into); // Data-In landed in the caller's buffer
    expect(into.equals(data)).toBe(true);
    expect(s.r2tsReceived).toBeGreaterThan(0);
  });

  it('protects headers and data with CRC32C digests, and takes the first digest it offered that the target accepts', async () => {
    const s = await open({ headerDigest: 'CRC32C', dataDigest: 'CRC32C', maxRecvDataSegmentLength: 65536 });
    expect([s.params.headerDigest, s.params.dataDigest]).toEqual([true, true]);
    const data = randomBytes(1 * MiB + 3 * BLOCK);
    expect((await run(s, write16(20000, data.length / BLOCK), { dataOut: data })).status).toBe(ScsiStatus.Good);
    const r = await run(s, read16(20000, data.length / BLOCK), { readLength: data.length });
    expect(r.data.equals(data)).toBe(true);
    expect(imageBytes(20000, data.length).equals(data)).toBe(true);

    const preferNone = await open({ headerDigest: 'None,CRC32C', dataDigest: 'CRC32C,None' });
    expect([preferNone.params.headerDigest, preferNone.params.dataDigest]).toEqual([false, true]);
    expect((await run(preferNone, read16(20000, 8), { readLength: 4096 })).data.equals(data.subarray(0, 4096))).toBe(true);
  });

  it('keeps hundreds of commands outstanding and honours the CmdSN window', async () => {
    const s = await open();
    await run(s, testUnitReady());
    const count = 400; // more than the target's window (128): the rest wait for MaxCmdSN to open
    const blocks = Array.from({ length: count }, () => randomBytes(BLOCK));
    let peak = 0;
    const writes = blocks.map((b, i) => {
      const p = s.command(0, write16(30000 + i, 1), { dataOut: b });
      peak = Math.max(peak, s.inFlight);
      return p;
    });
    expect(peak).toBe(count);
    expect(s.commandsHeldByWindow).toBeGreaterThan(0);
    expect((await Promise.all(writes)).every((r) => r.status === ScsiStatus.Good)).toBe(true);
    const reads = await Promise.all(blocks.map((_, i) => s.command(0, read16(30000 + i, 1), { readLength: BLOCK })));
    expect(reads.every((r, i) => r.status === ScsiStatus.Good && r.data.equals(blocks[i]))).toBe(true);
    expect(s.inFlight).toBe(0);
  });

  it("answers the target's NOP-In pings, so an idle session stays up past the target's ping timeout", async () => {
    const s = await open({ nopIntervalMs: 0 }); // no pings of our own: only the target's keep the session alive
    await until(() => s.nopInsAnswered >= 2, 'two NOP-In pings from the target answered', 30_000);
    await sleep(3500); // longer than --nop-timeout 3
    expect(s.phase).toBe('full-feature');
    expect((await run(s, testUnitReady())).status).toBe(ScsiStatus.Good);
    expect(await s.ping()).toBeGreaterThanOrEqual(0);
  });

  it('decodes the sense data of a failed command, and the device helpers throw it', async () => {
    const s = await open();
    const r = await run(s, read16(64 * MiB / BLOCK, 1), { readLength: BLOCK });
    expect(r.status).toBe(ScsiStatus.CheckCondition);
    expect(r.sense).toMatchObject({ key: SenseKey.IllegalRequest, asc: 0x21, ascq: 0x00 });

    const device = await IscsiDevice.open(`iscsi://${HOST}:${port}/${PLAIN}/0`);
    try {
      expect(device.capacity).toMatchObject({ blockCount: (64 * MiB) / BLOCK, blockSize: BLOCK });
      await expect(device.read(device.blockCount, 1)).rejects.toThrow(ScsiCommandError);
      await expect(device.read(device.blockCount, 1)).rejects.toThrow(/READ\(16\): CHECK CONDITION \(ILLEGAL REQUEST 21\/00\)/);
      expect(await device.inquiry()).toMatchObject({ vendor: 'TANDEM', peripheralDeviceType: 0 });
      const id = await device.deviceIdentification();
      expect(id.naa.length).toBeGreaterThan(0);
      expect(id.targetPortGroup).toBe(1);
      await device.synchronizeCache();
      const data = randomBytes(9 * MiB); // longer than one command carries: split
      await device.write(50000, data, { fua: true });
      expect((await device.read(50000, data.length / BLOCK)).equals(data)).toBe(true);
    } finally {
      await device.close();
    }
  });

  it('authenticates with one-way CHAP and refuses a wrong secret', async () => {
    const s = await open({ targetName: CHAP, chap: { username: 'alice', secret: 'alice-secret-123' } });
    expect((await run(s, testUnitReady())).status).toBe(ScsiStatus.Good);
    const refused = open({ targetName: CHAP, chap: { username: 'alice', secret: 'not-the-secret!' } });
    await expect(refused).rejects.toThrow(LoginError);
    await expect(refused).rejects.toMatchObject({ statusClass: 2, statusDetail: 1, permanent: true });
    await expect(open({ targetName: CHAP })).rejects.toThrow(/authentication failure/);
  });

  it('authenticates with mutual CHAP and refuses a target that cannot prove itself', async () => {
    const chap = { username: 'bob', secret: 'bob-secret-12345', mutualUsername: 'tgt', mutualSecret: 'target-secret-99' };
    const s = await open({ targetName: MUTUAL, chap });
    expect((await run(s, testUnitReady())).status).toBe(ScsiStatus.Good);
    await expect(open({ targetName: MUTUAL, chap: { ...chap, mutualSecret: 'some-other-secret' } })).rejects.toThrow(/failed mutual CHAP/);
  });

  it('reports the login status of an unknown target', async () => {
    await expect(open({ targetName: 'iqn.2026-11.io.tandem:nobody' })).rejects.toMatchObject({ statusClass: 2, statusDetail: 3 });
    await expect(open({ targetName: 'iqn.2026-11.io.tandem:nobody' })).rejects.toThrow(/target not found/);
  });

  it('logs out; commands afterwards fail with PathFailedError', async () => {
    const s = await open();
    await run(s, testUnitReady());
    const closed = new Promise((resolve) => s.once('close', resolve));
    await s.logout();
    await closed;
    expect(s.phase).toBe('closed');
    expect(s.closedByUs).toBe(true);
    await expect(s.command(0, testUnitReady())).rejects.toThrow(PathFailedError);
  });

  it('refuses a CDB it cannot carry', async () => {
    const s = await open();
    await expect(s.command(0, Buffer.alloc(32))).rejects.toThrow(RangeError);
    expect((await run(s, inquiry(false, 0, 96), { readLength: 96 })).data.length).toBe(96);
  });

  describe('through a proxy', () => {
    let proxy: TcpProxy;
    beforeEach(async () => {
      proxy = await TcpProxy.start(port);
    });
    afterEach(async () => {
      await proxy.close();
    });

    it('fails every outstanding command with PathFailedError when the connection is cut', async () => {
      const s = await open({ port: proxy.port });
      await run(s, testUnitReady());
      proxy.pause(); // hold the commands in flight, then cut
      const pending = Array.from({ length: 8 }, (_, i) => s.command(0, read16(i * 8, 8), { readLength: 4096 }));
      const closed = new Promise<Error>((resolve) => s.once('close', resolve));
      await sleep(50);
      proxy.cut();
      const results = await Promise.allSettled(pending);
      expect(results.every((r) => r.status === 'rejected' && r.reason instanceof PathFailedError)).toBe(true);
      expect((await closed).message).toMatch(/closed|ECONNRESET/);
      expect(s.closedByUs).toBe(false);
    });

    it('fails the connection when a command outlives the command timeout (black hole)', async () => {
      const s = await open({ port: proxy.port, commandTimeoutMs: 500 });
      await run(s, testUnitReady());
      proxy.pause();
      const started = Date.now();
      await expect(s.command(0, read16(0, 8), { readLength: 4096 })).rejects.toThrow(/timed out after 500 ms/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      // The behaviour is a time bound: far below the 30 s default timeout, with room for timers late on a busy machine.
      expect(Date.now() - started).toBeLessThan(15_000);
    });

    it('fails the connection when the target stops answering pings', async () => {
      const s = await open({ port: proxy.port, nopIntervalMs: 300, nopTimeoutMs: 400 });
      await run(s, testUnitReady());
      proxy.pause();
      const reason = await new Promise<Error>((resolve) => s.once('close', resolve));
      expect(reason.message).toMatch(/NOP-Out ping/);
    });
  });
});
