import { appendToStream } from './appendToStream';
import { UpcastFailed } from './errors';
import { readAll } from './readAll';
import { readStream } from './readStream';
import { describeEachDatabase } from './testing/describeEachDatabase';
import { Upcasters, upcaster } from './upcasters';

// DeviceResized v1 stored sizes in MiB; v2 in bytes; v3 adds the previous size.
const v1ToV2 = upcaster<{ deviceId: string; sizeMiB: number }>('DeviceResized', 1, (d) => ({ deviceId: d.deviceId, sizeBytes: d.sizeMiB * 2 ** 20 }));
const v2ToV3 = upcaster<{ deviceId: string; sizeBytes: number }>('DeviceResized', 2, (d) => ({ ...d, previousSizeBytes: null }));

describe('Upcasters', () => {
  it('lifts data step by step to the newest version it can reach', () => {
    const upcasters = new Upcasters([v2ToV3, v1ToV2]);
    expect(upcasters.upcast('DeviceResized', 1, { deviceId: 'd', sizeMiB: 2 })).toEqual({ schemaVersion: 3, data: { deviceId: 'd', sizeBytes: 2 ** 21, previousSizeBytes: null } });
    expect(upcasters.upcast('DeviceResized', 3, { x: 1 })).toEqual({ schemaVersion: 3, data: { x: 1 } });
    expect(upcasters.upcast('Other', 1, { x: 1 })).toEqual({ schemaVersion: 1, data: { x: 1 } });
    expect(upcasters.newestVersion('DeviceResized')).toBe(3);
  });

  it('refuses a step registered twice and reports a failing step', () => {
    expect(() => new Upcasters([v1ToV2, v1ToV2])).toThrow(/registered twice/);
    const broken = new Upcasters([upcaster('X', 1, () => { throw new Error('boom'); })]);
    expect(() => broken.upcast('X', 1, {})).toThrow(UpcastFailed);
  });
});

describeEachDatabase('reading upcast events', (db) => {
  it('returns the newest schema version from readStream and readAll, leaving the log untouched', async () => {
    const writer = await db.open();
    await appendToStream(writer, 'device-1', [
      { type: 'DeviceResized', schemaVersion: 1, data: { deviceId: 'd', sizeMiB: 1 } },
      { type: 'DeviceResized', schemaVersion: 2, data: { deviceId: 'd', sizeBytes: 4096 } },
      { type: 'DeviceResized', schemaVersion: 3, data: { deviceId: 'd', sizeBytes: 8192, previousSizeBytes: 4096 } },
    ]);
    const reader = Object.assign(Object.create(null), writer, { upcasters: new Upcasters([v1ToV2, v2ToV3]) });
    const expected = [
      { schemaVersion: 3, data: { deviceId: 'd', sizeBytes: 2 ** 20, previousSizeBytes: null } },
      { schemaVersion: 3, data: { deviceId: 'd', sizeBytes: 4096, previousSizeBytes: null } },
      { schemaVersion: 3, data: { deviceId: 'd', sizeBytes: 8192, previousSizeBytes: 4096 } },
    ];
    expect((await readStream(reader, 'device-1')).events).toMatchObject(expected);
    expect((await readAll(reader)).events).toMatchObject(expected);
    // The stored events keep their original versions.
    expect((await readAll(writer)).events.map((e) => e.schemaVersion)).toEqual([1, 2, 3]);
  });
});
