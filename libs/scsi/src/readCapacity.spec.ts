import { fixture } from './harness.spec-helper';

describe('READ CAPACITY', () => {
  it('(10) returns the last LBA and block length', async () => {
    const f = await fixture(4096, 1000);
    const r = await f.run([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(r.status).toBe(0);
    expect(r.data.readUInt32BE(0)).toBe(999);
    expect(r.data.readUInt32BE(4)).toBe(4096);
  });

  it('(10) caps the last LBA at FFFFFFFFh', async () => {
    const f = await fixture(512, 16);
    f.lu.blockCount = 2 ** 33; // pretend: only the reported value matters here
    const r = await f.run([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(r.data.readUInt32BE(0)).toBe(0xffffffff);
  });

  it('(10) rejects a non-zero LBA with PMI clear', async () => {
    const f = await fixture();
    const r = await f.run([0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect([r.status, r.key, r.asc]).toEqual([2, 5, 0x24]);
  });

  it('(16) returns 32 bytes with LBPPBE, no protection, no provisioning, truncated to the allocation length', async () => {
    const f = await fixture(512, 2048);
    const cdb = [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0];
    const r = await f.run(cdb);
    expect(r.data.length).toBe(32);
    expect(Number(r.data.readBigUInt64BE(0))).toBe(2047);
    expect(r.data.readUInt32BE(8)).toBe(512);
    expect(r.data[12]).toBe(0);
    expect(r.data[13]).toBe(3); // 4096-byte physical blocks
    expect(r.data[14]).toBe(0);
    for (let len = 0; len < 16; len++) {
      const t = await f.run([0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, len, 0, 0]);
      expect(t.status).toBe(0);
      expect(t.task.dataInLength).toBe(len);
    }
  });

  it('SERVICE ACTION IN (16) with an unknown service action is INVALID FIELD IN CDB', async () => {
    const f = await fixture();
    const r = await f.run([0x9e, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0]);
    expect([r.status, r.key, r.asc]).toEqual([2, 5, 0x24]);
    expect(r.task.sense!.readUInt16BE(16)).toBe(1);
  });
});
