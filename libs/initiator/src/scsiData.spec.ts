import { read16, readCapacity16, reportTargetPortGroups, write16 } from './cdb';
import { parseDeviceIdentification, parseReadCapacity16, parseStandardInquiry, parseTargetPortGroups } from './scsiData';

describe('CDBs', () => {
  it('puts 64-bit LBAs, lengths and FUA where SBC says', () => {
    const r = read16(0x123456789a, 0x10000);
    expect(r.toString('hex')).toBe('88' + '00' + '000000123456789a' + '00010000' + '0000');
    expect(write16(1, 2, true).subarray(0, 2).toString('hex')).toBe('8a08');
    expect(readCapacity16()[1]).toBe(0x10);
    expect(reportTargetPortGroups().subarray(0, 2).toString('hex')).toBe('a32a');
  });
});

describe('parameter data', () => {
  it('parses standard INQUIRY', () => {
    const d = Buffer.alloc(36, 0x20);
    d[0] = 0;
    d[5] = 0x10;
    d.write('TANDEM  vDisk           0001', 8, 'latin1');
    expect(parseStandardInquiry(d)).toEqual({ peripheralDeviceType: 0, tpgs: 1, vendor: 'TANDEM', product: 'vDisk', revision: '0001' });
  });

  it('parses READ CAPACITY (16)', () => {
    const d = Buffer.alloc(32);
    d.writeUInt32BE(1, 0);
    d.writeUInt32BE(0xffffffff, 4);
    d.writeUInt32BE(4096, 8);
    d[13] = 3;
    d[14] = 0x80;
    expect(parseReadCapacity16(d)).toEqual({ blockCount: 2 * 2 ** 32, blockSize: 4096, logicalPerPhysicalExponent: 3, thin: true });
  });

  it('parses VPD 0x83: LU NAA designators, relative target port, target port group', () => {
    const naa = Buffer.from([0x01, 0x03, 0x00, 0x10, ...Buffer.from('6001405aabbccddeeff00112233445566'.slice(0, 32), 'hex')]);
    const rtp = Buffer.from([0x61, 0x94, 0x00, 0x04, 0, 0, 0, 2]);
    const tpg = Buffer.from([0x61, 0x95, 0x00, 0x04, 0, 0, 0, 7]);
    const body = Buffer.concat([naa, rtp, tpg]);
    const page = Buffer.concat([Buffer.from([0, 0x83, 0, body.length]), body]);
    const id = parseDeviceIdentification(page);
    expect(id.naa).toEqual(['6001405aabbccddeeff0011223344556']);
    expect(id.relativeTargetPort).toBe(2);
    expect(id.targetPortGroup).toBe(7);
    expect(id.designators).toHaveLength(3);
  });

  it('parses REPORT TARGET PORT GROUPS in both header formats', () => {
    const descriptors = Buffer.from([
      0x80, 0x8f, 0, 1, 0, 0x02, 0, 1, 0, 0, 0, 1, // group 1 active/optimized, preferred, one port (1)
      0x02, 0x8f, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, // group 2 standby, ports 2 and 3
    ]);
    const plain = Buffer.concat([Buffer.from([0, 0, 0, descriptors.length]), descriptors]);
    const extended = Buffer.concat([Buffer.from([0, 0, 0, descriptors.length + 4, 0x10, 5, 0, 0]), descriptors]);
    for (const data of [plain, extended]) {
      expect(parseTargetPortGroups(data)).toEqual([
        { groupId: 1, state: 'active/optimized', preferred: true, supportedStates: 0x8f, statusCode: 2, relativeTargetPorts: [1] },
        { groupId: 2, state: 'standby', preferred: false, supportedStates: 0x8f, statusCode: 0, relativeTargetPorts: [2, 3] },
      ]);
    }
  });
});
