// Real initiators against the target: libiscsi's command-line tools (discovery, INQUIRY, READ CAPACITY(16), CHAP),
// QEMU's iscsi driver with forced header digests, and the test's own raw initiator for data digests
// (libiscsi 1.19 always offers DataDigest=None, and its tools override the URL's header_digest with "None,CRC32C").
import { GiB, MiB, makeTempDir, randomBlock, removeDir } from '../support/files';
import { describeResult, login, logout, RawConnection, read10, readCapacity10, run, scsi, write10 } from '@tandem/testing';
import { RunningTarget, startTarget, targetBinaries } from '../support/target';
import { describeWithTools, findBinary } from '../support/tools';

const IQN = 'iqn.2026-11.io.tandem:demo';
const CHAP_IQN = 'iqn.2026-11.io.tandem:chap';
const TOOL_TIMEOUT = 20000;

async function tool(cmd: string, args: string[], env?: NodeJS.ProcessEnv) {
  const r = await run(cmd, args, { timeoutMs: TOOL_TIMEOUT, env: { ...process.env, ...env } });
  return { ...r, text: describeResult(`${cmd} ${args.join(' ')}`, r) };
}

describeWithTools(['iscsi-ls', 'iscsi-inq', 'iscsi-readcapacity16', ...targetBinaries()], 'libiscsi initiators', () => {
  let dir: string;
  let target: RunningTarget | undefined;

  beforeAll(async () => {
    dir = makeTempDir();
    target = await startTarget({
      dir,
      targets: [{ iqn: IQN, luns: [{ lun: 0, size: GiB }, { lun: 1, size: 64 * MiB, sector: 4096 }] }],
    });
  });

  afterAll(async () => {
    await target?.stop();
    removeDir(dir);
  });

  test('iscsi-ls -s discovers the target and both LUNs', async () => {
    const r = await tool('iscsi-ls', ['-s', target!.portalUrl()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Target:${IQN}`);
    expect(r.stdout).toContain(`Portal:127.0.0.1:${target!.port}`);
    for (const lun of [0, 1]) expect(r.stdout).toMatch(new RegExp(`Lun:${target!.wireLun(lun)}\\s+Type:DIRECT_ACCESS`));
  });

  test('iscsi-inq on LUN 0 reports a connected direct-access device', async () => {
    const r = await tool('iscsi-inq', [target!.url(0)]);
    expect({ code: r.code, out: r.text }).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('Peripheral Qualifier:CONNECTED');
    expect(r.stdout).toContain('Peripheral Device Type:DIRECT_ACCESS');
  });

  test('iscsi-inq pages 0x00, 0x80 and 0x83 (supported pages, serial, device identification)', async () => {
    for (const page of ['0x00', '0x80', '0x83']) {
      const r = await tool('iscsi-inq', ['-e', '1', '-c', page, target!.url(0)]);
      expect({ page, code: r.code, out: r.text }).toMatchObject({ code: 0 });
    }
  });

  test('iscsi-readcapacity16 on LUN 0: 1 GiB of 512-byte blocks', async () => {
    const r = await tool('iscsi-readcapacity16', [target!.url(0)]);
    expect({ code: r.code, out: r.text }).toMatchObject({ code: 0 });
    expect(r.stdout).toContain(`RETURNED LOGICAL BLOCK ADDRESS:${GiB / 512 - 1}`);
    expect(r.stdout).toContain('LOGICAL BLOCK LENGTH IN BYTES:512');
    expect(r.stdout).toContain(`Total size:${GiB}`);
  });

  test('iscsi-readcapacity16 on LUN 1: 64 MiB of 4096-byte blocks', async () => {
    const r = await tool('iscsi-readcapacity16', [target!.url(1)]);
    expect({ code: r.code, out: r.text }).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('LOGICAL BLOCK LENGTH IN BYTES:4096');
    expect(r.stdout).toContain(`Total size:${64 * MiB}`);
  });

  const qemuIo = findBinary('qemu-io');
  const digestSettings = ['none', 'crc32c', 'crc32c-none', 'none-crc32c'];
  (qemuIo ? test.each(digestSettings) : test.skip.each(digestSettings))('qemu-io writes and verifies with header-digest=%s', async (digest) => {
    const opts = `driver=raw,file.driver=iscsi,file.transport=tcp,file.portal=127.0.0.1:${target!.port},file.target=${IQN},file.lun=${target!.wireLun(0)},file.header-digest=${digest}`;
    const pattern = `0x${(0x30 + digestSettings.indexOf(digest)).toString(16)}`;
    const off = `${1 + digestSettings.indexOf(digest)}M`;
    const r = await tool('qemu-io', ['--image-opts', '-c', `write -P ${pattern} ${off} 256k`, '-c', `read -P ${pattern} ${off} 256k`, opts]);
    expect({ code: r.code, out: r.text }).toMatchObject({ code: 0 });
    expect(r.stdout).not.toContain('verification failed');
  });

  test.each([
    ['None', 'None'],
    ['CRC32C', 'None'],
    ['None', 'CRC32C'],
    ['CRC32C', 'CRC32C'],
  ] as const)('raw initiator: HeaderDigest=%s DataDigest=%s negotiated, write+read verified, digests correct', async (hd, dd) => {
    const conn = await RawConnection.connect('127.0.0.1', target!.port);
    try {
      const s = await login(conn, { targetName: IQN, headerDigest: hd, dataDigest: dd });
      expect({ HeaderDigest: s.negotiated.HeaderDigest, DataDigest: s.negotiated.DataDigest }).toEqual({ HeaderDigest: hd, DataDigest: dd });
      const lun = target!.wireLun(0);
      // A unit attention may be pending for a new I_T nexus: TEST UNIT READY until it is consumed (bounded).
      for (let i = 0; i < 3; i++) if ((await scsi(s, lun, Buffer.alloc(6))).status === 0) break;
      const cap = await scsi(s, lun, readCapacity10(), { readLength: 8 });
      expect(cap.status).toBe(0);
      expect(cap.data.readUInt32BE(4)).toBe(512);
      const lba = 10000 + ['None', 'CRC32C'].indexOf(hd) * 100 + ['None', 'CRC32C'].indexOf(dd) * 10;
      const payload = randomBlock(`digest-${hd}-${dd}`, 8 * 512);
      const w = await scsi(s, lun, write10(lba, 8), { writeData: payload });
      expect(w.status).toBe(0);
      const rd = await scsi(s, lun, read10(lba, 8), { readLength: payload.length });
      expect(rd.status).toBe(0);
      expect(rd.digestErrors).toBe(0);
      expect(rd.data.equals(payload)).toBe(true);
      await logout(s);
    } finally {
      conn.destroy();
    }
  });
});

describeWithTools(['iscsi-inq', 'iscsi-ls', ...targetBinaries()], 'CHAP', () => {
  const chap = { user: 'alice', secret: 'alice-secret-123', mutualUser: 'tandem', mutualSecret: 'tandem-secret-456' };
  let dir: string;
  let target: RunningTarget | undefined;

  beforeAll(async () => {
    dir = makeTempDir();
    target = await startTarget({ dir, targets: [{ iqn: CHAP_IQN, luns: [{ lun: 0, size: 64 * MiB }], chap }] });
  });

  afterAll(async () => {
    await target?.stop();
    removeDir(dir);
  });

  const url = (o: { user?: string; secret?: string; params?: Record<string, string> } = {}) => target!.url(0, { iqn: CHAP_IQN, ...o });

  test('login without credentials is refused', async () => {
    const r = await tool('iscsi-inq', [url()]);
    expect(r.code).not.toBe(0);
    expect(r.timedOut).toBe(false);
  });

  test('login with a wrong secret is refused', async () => {
    const r = await tool('iscsi-inq', [url({ user: chap.user, secret: 'not-the-secret' })]);
    expect(r.code).not.toBe(0);
    expect(r.timedOut).toBe(false);
  });

  test('login with an unknown user is refused', async () => {
    const r = await tool('iscsi-inq', [url({ user: 'mallory', secret: chap.secret })]);
    expect(r.code).not.toBe(0);
  });

  test('login with the right secret is accepted', async () => {
    const r = await tool('iscsi-inq', [url({ user: chap.user, secret: chap.secret })]);
    expect({ code: r.code, out: r.text }).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('Peripheral Device Type:DIRECT_ACCESS');
  });

  test('credentials from LIBISCSI_CHAP_USERNAME/PASSWORD are accepted', async () => {
    const r = await tool('iscsi-inq', [url()], { LIBISCSI_CHAP_USERNAME: chap.user, LIBISCSI_CHAP_PASSWORD: chap.secret });
    expect({ code: r.code, out: r.text }).toMatchObject({ code: 0 });
  });

  test('mutual CHAP (URL target_user/target_password): the target proves the right secret', async () => {
    const r = await tool('iscsi-inq', [url({ user: chap.user, secret: chap.secret, params: { target_user: chap.mutualUser, target_password: chap.mutualSecret } })]);
    expect({ code: r.code, out: r.text }).toMatchObject({ code: 0 });
  });

  test('mutual CHAP (LIBISCSI_CHAP_TARGET_USERNAME/PASSWORD) is accepted', async () => {
    const r = await tool('iscsi-readcapacity16', [url({ user: chap.user, secret: chap.secret })], {
      LIBISCSI_CHAP_TARGET_USERNAME: chap.mutualUser,
      LIBISCSI_CHAP_TARGET_PASSWORD: chap.mutualSecret,
    });
    expect({ code: r.code, out: r.text }).toMatchObject({ code: 0 });
    expect(r.stdout).toContain(`Total size:${64 * MiB}`);
  });

  test('mutual CHAP fails when the initiator expects a different target secret', async () => {
    const r = await tool('iscsi-inq', [url({ user: chap.user, secret: chap.secret, params: { target_user: chap.mutualUser, target_password: 'wrong-target-secret' } })]);
    expect(r.code).not.toBe(0);
  });
});
