import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { INestApplicationContext } from '@nestjs/common';
import { freePort } from '@tandem/testing';
import { NodeAgentModule } from './app.module';
import { settingsFromArgv } from './config';
import { TargetHostService } from './target/targetHost.service';

function get(port: number, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: url }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('node agent', () => {
  let dir: string;
  let app: INestApplicationContext | null = null;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-agent-'));
  });
  afterEach(async () => {
    await app?.close();
    app = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('needs a config file', () => {
    expect(() => settingsFromArgv([], {})).toThrow(/--config/);
  });

  it('serves the configured LUNs and answers /health and /metrics', async () => {
    const iscsiPort = await freePort();
    const httpPort = await freePort();
    const configPath = path.join(dir, 'node.json');
    fs.writeFileSync(configPath, JSON.stringify({
      portals: [{ host: '127.0.0.1', port: iscsiPort }],
      targets: [{ name: 'iqn.2026-11.io.tandem:agent-spec', luns: [{ lun: 0, store: { kind: 'flat', path: path.join(dir, 'd.img'), sizeBytes: 1 << 20, create: true, thin: true } }] }],
    }));
    const settings = settingsFromArgv(['--config', configPath, '--http', `127.0.0.1:${httpPort}`, '--nats', 'none'], {});
    app = await NestFactory.createApplicationContext(NodeAgentModule.forRoot(settings), { logger: false });
    await app.init();
    expect(app.get(TargetHostService).current?.luns).toHaveLength(1);
    const health = await get(httpPort, '/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', luns: 1, sessions: 0, nats: 'disabled', health: 'ok' });
    const metrics = (await get(httpPort, '/metrics')).body;
    expect(metrics).toContain('tandem_iscsi_sessions 0');
    expect(metrics).toMatch(/tandem_lu_read_commands_total\{target="iqn.2026-11.io.tandem:agent-spec",lun="0",device="[0-9a-f]+"\} 0/);
    expect(fs.readFileSync(path.join(dir, 'node-id'), 'utf8')).toMatch(/^[0-9a-f-]{36}\n$/);
    expect((await get(httpPort, '/nope')).status).toBe(404);
  });

  it('fails to start on a config that is not JSON', async () => {
    const configPath = path.join(dir, 'bad.json');
    fs.writeFileSync(configPath, '{ not json');
    const settings = settingsFromArgv(['--config', configPath, '--http', '127.0.0.1:0', '--nats', 'none'], {});
    const ctx = await NestFactory.createApplicationContext(NodeAgentModule.forRoot(settings), { logger: false, abortOnError: false }).catch((e) => e);
    expect(String(ctx instanceof Error ? ctx.message : '')).toMatch(/cannot read node config/);
  });
});
