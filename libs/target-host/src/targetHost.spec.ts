import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ConfigurationError, silentLogger } from '@tandem/iscsi';
import { LuRegistry } from '@tandem/scsi';
import { HostConfigError, parseHostConfig } from './hostConfig';
import { TargetHost, derivedDeviceId } from './targetHost';

const IQN = 'iqn.2026-11.io.tandem:host-spec';

describe('host config', () => {
  it('lists every problem with its path', () => {
    expect(() => parseHostConfig({ portals: [], targets: [{ name: IQN, luns: [{ lun: -1, store: { kind: 'flat', path: '' } }] }] }))
      .toThrow(/portals: .*targets\.0\.luns\.0\.lun: .*targets\.0\.luns\.0\.store\.path/);
    expect(() => parseHostConfig({ portals: [{ host: '127.0.0.1', port: 0 }], targets: [{ name: IQN, chap: { username: 'u', secret: 'short' }, luns: [{ lun: 0, store: { kind: 'flat', path: '/x' } }] }] }))
      .toThrow(/at least 12 characters/);
  });

  it('refuses a LUN defined twice and unknown fields', () => {
    const lun = { lun: 0, store: { kind: 'flat', path: '/x' } };
    expect(() => parseHostConfig({ portals: [{ host: '127.0.0.1', port: 0 }], targets: [{ name: IQN, luns: [lun, lun] }] })).toThrow(HostConfigError);
    expect(() => parseHostConfig({ portals: [{ host: '127.0.0.1', port: 0 }], targets: [{ name: IQN, luns: [lun] }], colour: 'blue' })).toThrow(/colour/);
  });
});

describe('TargetHost', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-host-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const config = (port: number, lunPath: string, create = true) => ({
    portals: [{ host: '127.0.0.1', port }],
    targets: [{ name: IQN, luns: [{ lun: 0, store: { kind: 'flat', path: lunPath, sizeBytes: 1 << 20, create, thin: true } }] }],
  });

  it('starts on a real port, answers TCP, and stops with the store closed', async () => {
    const host = await TargetHost.start(config(0, path.join(dir, 'd.img')), silentLogger);
    const port = host.server.listening()[0].port;
    expect(port).toBeGreaterThan(0);
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    });
    expect(host.luns[0].deviceId).toBe(derivedDeviceId(IQN, 0));
    await host.stop(100);
    await expect(host.luns[0].store.read(Buffer.alloc(512), 0, 512, 0)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a write-back cached LU reports its dirty bytes in the LU stats and writes them out when it stops', async () => {
    const img = path.join(dir, 'c.img');
    const cfg = config(0, img);
    const host = await TargetHost.start(
      { ...cfg, targets: [{ ...cfg.targets[0], luns: [{ ...cfg.targets[0].luns[0], cache: { mode: 'write-back', sizeBytes: 4 << 20 } }] }] },
      silentLogger,
    );
    const lu = host.luns[0];
    expect(lu.stats.peek()).toMatchObject({ cacheDirtyBytes: 0, cacheFlushSeconds: 0 });
    await lu.store.write(Buffer.alloc(8192, 0x5a), 0, 8192, 65536, false);
    expect(lu.stats.peek().cacheDirtyBytes).toBe(8192);
    await host.stop(100);
    const fd = fs.openSync(img, 'r');
    const back = Buffer.alloc(8192);
    fs.readSync(fd, back, 0, 8192, 65536);
    fs.closeSync(fd);
    expect(back.every((b) => b === 0x5a)).toBe(true);
  });

  it('registers every LU of the node in one registry, so EXTENDED COPY can cross targets', async () => {
    const host = await TargetHost.start(
      {
        portals: [{ host: '127.0.0.1', port: 0 }],
        targets: ['a', 'b'].map((t) => ({
          name: `${IQN}-${t}`,
          luns: [{ lun: 0, store: { kind: 'flat', path: path.join(dir, `${t}.img`), sizeBytes: 1 << 20, create: true } }],
        })),
      },
      silentLogger,
    );
    try {
      const [a, b] = host.luns.map((h) => h.unit);
      const registry = LuRegistry.of(a);
      expect(registry).toBeDefined();
      expect(LuRegistry.of(b)).toBe(registry);
      expect(registry!.find(3, b.identity.naa)).toBe(b);
    } finally {
      await host.stop(100);
    }
  });

  it('reports a port in use and leaves no store open', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(TargetHost.start(config(port, path.join(dir, 'e.img')), silentLogger)).rejects.toThrow(ConfigurationError);
      await expect(TargetHost.start(config(port, path.join(dir, 'e.img')), silentLogger)).rejects.toThrow(/address already in use/);
    } finally {
      blocker.close();
    }
  });

  it('applies configured ALUA states and changes them live', async () => {
    const input = {
      portals: [{ host: '127.0.0.1', port: 0, portalGroupTag: 1 }, { host: '127.0.0.1', port: 0, portalGroupTag: 2 }],
      targets: [{ name: IQN, luns: [{ lun: 0, alua: { 2: 'standby' }, store: { kind: 'flat', path: path.join(dir, 'a.img'), sizeBytes: 1 << 20, create: true } }] }],
    };
    const host = await TargetHost.start(input, silentLogger);
    try {
      const unit = host.luns[0].unit;
      expect([unit.alua.stateOf(1), unit.alua.stateOf(2)]).toEqual(['optimized', 'standby']);
      expect(unit.alua.portGroups().map((g) => [g.id, g.relativeTargetPortIds])).toEqual([[1, [1]], [2, [2]]]);
      expect(host.setAluaState(IQN, 0, 2, 'non-optimized')).toBe(true);
      expect(unit.alua.stateOf(2)).toBe('non-optimized');
      expect(() => host.setAluaState('iqn.2026-11.io.tandem:nope', 0, 1, 'standby')).toThrow(/no target/);
    } finally {
      await host.stop(100);
    }
  });

  it('refuses ALUA states for a portal group the target is not exported through', () => {
    const lun = { lun: 0, alua: { 3: 'standby' }, store: { kind: 'flat', path: '/x' } };
    expect(() => parseHostConfig({ portals: [{ host: '127.0.0.1', port: 0 }], targets: [{ name: IQN, luns: [lun] }] })).toThrow(/port group 3/);
    expect(() => parseHostConfig({ portals: [{ host: '127.0.0.1', port: 0 }], targets: [{ name: IQN, luns: [{ ...lun, alua: { 1: 'asleep' } }] }] })).toThrow(/alua/);
  });

  it('refuses a missing image without create', async () => {
    await expect(TargetHost.start(config(0, path.join(dir, 'missing.img'), false), silentLogger)).rejects.toThrow(/does not exist/);
  });
});
