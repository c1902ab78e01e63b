/** A running agent whose portal is bound to 0.0.0.0 registers the advertised host, never the wildcard. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { INestApplicationContext } from '@nestjs/common';
import { freePort } from '@tandem/testing';
import { NodeAgentModule } from '../app.module';
import { settingsFromArgv } from '../config';
import { AgentRegistrationService } from './agentRegistration.service';
import { interfaceAddresses } from './advertisedAddresses';

describe('registration of a wildcard-bound node', () => {
  let dir: string;
  let app: INestApplicationContext | null = null;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-advertise-'))));
  afterEach(async () => {
    await app?.close();
    app = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(advertise: string[]): Promise<{ registration: AgentRegistrationService; port: number }> {
    const port = await freePort();
    const configPath = path.join(dir, 'node.json');
    fs.writeFileSync(configPath, JSON.stringify({ portals: [{ host: '0.0.0.0', port, portalGroupTag: 3 }], targets: [] }));
    const argv = ['--config', configPath, '--http', '127.0.0.1:0', '--nats', 'none', ...advertise];
    app = await NestFactory.createApplicationContext(NodeAgentModule.forRoot(settingsFromArgv(argv, {})), { logger: false });
    await app.init();
    return { registration: app.get(AgentRegistrationService), port };
  }

  it('registers the --advertise hosts on the bound port', async () => {
    const { registration, port } = await start(['--advertise', '192.0.2.10,storage-a.lan']);
    expect(registration.advertised().portals).toEqual([
      { host: '192.0.2.10', port, portalGroupTag: 3 },
      { host: 'storage-a.lan', port, portalGroupTag: 3 },
    ]);
  });

  it('without --advertise registers this host\'s interface addresses, or refuses when it has none', async () => {
    const { registration, port } = await start([]);
    const addresses = interfaceAddresses('IPv4');
    if (addresses.length > 0) expect(registration.advertised().portals).toEqual(addresses.map((host) => ({ host, port, portalGroupTag: 3 })));
    else expect(() => registration.advertised()).toThrow(/listens on 0\.0\.0\.0:\d+, which partners cannot dial/);
  });
});
