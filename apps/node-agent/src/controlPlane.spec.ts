/**
 * The agent against a real NATS (127.0.0.1:4222), with the test playing the orchestrator. Each test uses its own
 * subject prefix, reports stream and node id, so runs never hear each other. Skipped (with the reason) when no
 * NATS answers within 3 s.
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import 'reflect-metadata';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ALL_AGENT_DESIRED_DEVICES_SUBJECT, RegisterNode, agentCommandReplySchema, agentReportSchema, commandMessageSchema, nodeTelemetrySchema, type AgentReport } from '@tandem/contracts';
import { connect, type NatsConnection } from 'nats';
import { RawConnection, Session, eventually, freePort, login, logout, read10, scsi } from '@tandem/testing';
import { NodeAgentModule } from './app.module';
import { settingsFromArgv, type NodeAgentSettings } from './config';
import { DeviceCommandsService } from './devices/deviceCommands.service';
import { OutboxService } from './outbox/outbox.service';
import { AgentRegistrationService } from './registration/agentRegistration.service';
import { NodeIdentityService } from './state/nodeIdentity.service';
import { TargetHostService } from './target/targetHost.service';
import { TelemetryService } from './telemetry/telemetry.service';

process.env.TANDEM_LOG_LEVEL ??= 'warn';
const NATS_URL = 'nats://127.0.0.1:4222';
const IQN = 'iqn.2026-11.io.tandem:agent-cp';
const MiB = 1 << 20;
const decode = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data));

let nc: NatsConnection | null = null;
let skipReason = '';

beforeAll(async () => {
  nc = await connect({ servers: NATS_URL, timeout: 3000, reconnect: false }).catch((err) => {
    skipReason = `no NATS at ${NATS_URL} (${(err as Error).message})`;
    return null;
  });
});
afterAll(async () => {
  await nc?.close();
});

/** True (and says why) when the test cannot run here. */
function skipped(): boolean {
  if (nc) return false;
  process.stderr.write(`skipped: ${skipReason}\n`);
  return true;
}

describe('node agent on the control plane', () => {
  let dir: string;
  let tag: string;
  let prefix: string;
  let stream: string;
  const apps: INestApplicationContext[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-agent-cp-'));
    tag = randomUUID().slice(0, 8);
    prefix = `t${tag}`;
    stream = `TANDEM_AGENT_REPORTS_T${tag}`.toUpperCase();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    if (nc) await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startAgent(overrides: Partial<NodeAgentSettings> = {}, writeConfig = true): Promise<INestApplicationContext> {
    const configPath = path.join(dir, 'node.json');
    if (writeConfig) {
      fs.writeFileSync(configPath, JSON.stringify({
        portals: [{ host: '127.0.0.1', port: await freePort() }],
        targets: [{ name: IQN, luns: [{ lun: 0, store: { kind: 'flat', path: path.join(dir, 'static.img'), sizeBytes: MiB, create: true, thin: true } }] }],
      }));
    }
    const settings = settingsFromArgv(['--config', configPath, '--http', `127.0.0.1:${await freePort()}`, '--name', `agent-${tag}`], {}, {
      natsUrl: NATS_URL,
      subjectPrefix: prefix,
      reportsStream: stream,
      telemetryIntervalMs: 200,
      capacityBytes: 64 * 1024 * MiB,
      ...overrides,
    });
    const app = await NestFactory.createApplicationContext(NodeAgentModule.forRoot(settings), { logger: false });
    await app.init();
    apps.push(app);
    return app;
  }

  const at = (subject: string) => `${prefix}.${subject}`;

  async function streamReports(count: number): Promise<AgentReport[]> {
    const jsm = await nc!.jetstreamManager();
    await eventually(async () => ((await jsm.streams.info(stream).catch(() => undefined))?.state.messages ?? 0) >= count, `${count} reports on ${stream}`);
    const out: AgentReport[] = [];
    for (let seq = 1; seq <= count; seq++) out.push(agentReportSchema.parse(decode((await jsm.streams.getMessage(stream, { seq })).data)));
    return out;
  }

  it('registers with the orchestrator (retrying until answered), then converges on the desired devices', async () => {
    if (skipped()) return;
    const requests: unknown[] = [];
    const desiredDeviceId = randomUUID();
    nc!.subscribe(at(RegisterNode.subject), {
      callback: (_err, msg) => {
        requests.push(decode(msg.data));
        // The first request goes unanswered: the agent must retry with the same command.
        if (requests.length === 1) return;
        const message = commandMessageSchema.parse(decode(msg.data));
        msg.respond(JSON.stringify({ ok: true, commandId: message.commandId, aggregateId: (message.payload as { nodeId: string }).nodeId }));
      },
    });
    const desired = nc!.subscribe(at(ALL_AGENT_DESIRED_DEVICES_SUBJECT), {
      callback: (_err, msg) => msg.respond(JSON.stringify({ nodeId: decode(msg.data).nodeId, devices: [{ deviceId: desiredDeviceId, name: 'desired', sizeBytes: 2 * MiB }] })),
    });
    const app = await startAgent();
    const nodeId = app.get(NodeIdentityService).nodeId;
    await eventually(() => app.get(AgentRegistrationService).state === 'registered', 'registration');
    desired.unsubscribe();
    expect(requests.length).toBeGreaterThanOrEqual(2);
    const messages = requests.map((r) => commandMessageSchema.parse(r));
    expect(new Set(messages.map((m) => m.commandId)).size).toBe(1);
    const payload = RegisterNode.schema.parse(messages[0].payload);
    expect(payload).toMatchObject({ nodeId, name: `agent-${tag}`, version: '0.1.0', build: 'dev', capacityBytes: 64 * 1024 * MiB });
    expect(payload.portals[0]).toMatchObject({ host: '127.0.0.1' });
    expect(messages[0].metadata.actor).toBe(`node:${nodeId}`);
    expect(fs.readFileSync(path.join(dir, 'node-id'), 'utf8').trim()).toBe(nodeId);

    const host = app.get(TargetHostService).current!;
    const lun = await eventually(() => host.findDevice(desiredDeviceId), 'the desired device');
    expect(lun.store.sizeBytes).toBe(2 * MiB);
    // The config file is rewritten right after the LUN goes live (not before): wait for it rather than race it.
    const savedTargets = () => (JSON.parse(fs.readFileSync(path.join(dir, 'node.json'), 'utf8')).targets as { name: string }[]).map((t) => t.name);
    await eventually(() => savedTargets().length === 2, 'the config file to record the device');
    expect(savedTargets()).toEqual([IQN, `iqn.2026-11.io.tandem:${desiredDeviceId}`]);
  });

  it('applies device commands on the live target, idempotently, without dropping an open session', async () => {
    if (skipped()) return;
    const app = await startAgent();
    const nodeId = app.get(NodeIdentityService).nodeId;
    const host = app.get(TargetHostService).current!;
    const conn = await RawConnection.connect('127.0.0.1', host.server.listening()[0].port);
    const session: Session = await login(conn, { targetName: IQN });
    const telemetry: unknown[] = [];
    nc!.subscribe(at(`tandem.telemetry.${nodeId}`), { callback: (_e, msg) => telemetry.push(decode(msg.data)) });
    try {
      await eventually(() => app.get(DeviceCommandsService) && app.get(OutboxService).pending().length === 0 && app.get(OutboxService).forwarded > 0, 'the first health report forwarded');
      const request = async (verb: string, body: object) =>
        agentCommandReplySchema.parse(decode((await nc!.request(at(`tandem.agent.${nodeId}.cmd.${verb}`), JSON.stringify(body), { timeout: 5000 })).data));
      const deviceId = randomUUID();
      const create = { commandId: randomUUID(), device: { deviceId, name: 'db-1', sizeBytes: MiB, targetName: IQN } };
      const first = await request('create-device', create);
      expect(first).toEqual({ ok: true, commandId: create.commandId, nodeId, changes: [{ deviceId, outcome: 'created', targetName: IQN, lun: 1, sizeBytes: MiB }] });
      expect(host.findLun(IQN, 1)?.deviceId).toBe(deviceId);
      expect(await request('create-device', create)).toEqual(first);
      // A new command for the same device changes nothing either.
      expect((await request('create-device', { ...create, commandId: randomUUID() })).ok && host.luns.length).toBe(2);

      // The session opened before the change is still up and reaches both LUNs.
      for (let i = 0; i < 4; i++) await scsi(session, 0, Buffer.from([0, 0, 0, 0, 0, 0]));
      expect((await scsi(session, 0, read10(0, 1), { readLength: 512 })).status).toBe(0);
      for (let i = 0; i < 4; i++) await scsi(session, 1, Buffer.from([0, 0, 0, 0, 0, 0]));
      expect((await scsi(session, 1, read10(0, 1), { readLength: 512 })).status).toBe(0);
      expect(host.server.stats().sessions).toBe(1);

      const grow = await request('resize-device', { commandId: randomUUID(), deviceId, sizeBytes: 4 * MiB });
      expect(grow.ok && grow.changes[0]).toMatchObject({ outcome: 'resized', sizeBytes: 4 * MiB });
      const shrink = await request('resize-device', { commandId: randomUUID(), deviceId, sizeBytes: MiB });
      expect(!shrink.ok && shrink.error.code).toBe('BAD_USER_INPUT');
      const bad = await request('create-device', { commandId: randomUUID(), device: { deviceId, name: 'x', sizeBytes: 1000 } });
      expect(!bad.ok && bad.error.code).toBe('BAD_USER_INPUT');

      // Telemetry carries the device, with the reads above counted.
      await app.get(TelemetryService).tick();
      const sample = await eventually(() => telemetry.map((t) => nodeTelemetrySchema.parse(t)).find((t) => t.devices.some((d) => d.deviceId === deviceId)), 'telemetry with the device');
      expect(sample.health).toBe('ok');
      expect(host.findDevice(deviceId)!.stats.readCommands).toBeGreaterThanOrEqual(1);

      const del = { commandId: randomUUID(), deviceId, destroyData: true };
      expect((await request('delete-device', del)).ok).toBe(true);
      expect(await request('delete-device', del)).toEqual(await request('delete-device', del));
      expect(host.findDevice(deviceId)).toBeUndefined();
      expect(fs.existsSync(path.join(dir, 'devices', `${deviceId}.img`))).toBe(false);
      expect((await scsi(session, 0, read10(0, 1), { readLength: 512 })).status).not.toBe(undefined);

      await app.get(OutboxService).settled();
      await eventually(() => app.get(OutboxService).pending().length === 0, 'outbox drained');
      const reports = await streamReports(4);
      expect(reports.map((r) => r.type)).toEqual(['NodeHealthChanged', 'LunCreated', 'LunResized', 'LunDeleted']);
      expect(reports[1].causationId).toBe(create.commandId);
    } finally {
      await logout(session).catch(() => undefined);
      conn.destroy();
    }
  });

  it('keeps reports in the outbox while NATS is away, across a restart, and delivers them in order later', async () => {
    if (skipped()) return;
    const closedPort = await freePort();
    const offline = await startAgent({ natsUrl: `nats://127.0.0.1:${closedPort}` });
    const nodeId = offline.get(NodeIdentityService).nodeId;
    const commands = offline.get(DeviceCommandsService);
    const a = randomUUID();
    const b = randomUUID();
    expect((await commands.execute('create-device', { commandId: randomUUID(), device: { deviceId: a, name: 'a', sizeBytes: MiB } })).ok).toBe(true);
    expect((await commands.execute('create-device', { commandId: randomUUID(), device: { deviceId: b, name: 'b', sizeBytes: MiB } })).ok).toBe(true);
    expect((await commands.execute('resize-device', { commandId: randomUUID(), deviceId: a, sizeBytes: 2 * MiB })).ok).toBe(true);
    await offline.get(OutboxService).settled();
    const waiting = offline.get(OutboxService).pending().map((r) => [r.sequence, r.type]);
    expect(waiting).toEqual([[1, 'NodeHealthChanged'], [2, 'LunCreated'], [3, 'LunCreated'], [4, 'LunResized']]);
    await offline.close();
    apps.splice(apps.indexOf(offline), 1);

    // Restart from the same config file and state, now with NATS: same node, same LUNs, the backlog delivered.
    const online = await startAgent({}, false);
    expect(online.get(NodeIdentityService).nodeId).toBe(nodeId);
    const host = online.get(TargetHostService).current!;
    expect(host.findDevice(a)?.store.sizeBytes).toBe(2 * MiB);
    expect(host.findDevice(b)).toBeDefined();
    const reports = await streamReports(5);
    expect(reports.map((r) => [r.sequence, r.type])).toEqual([[1, 'NodeHealthChanged'], [2, 'LunCreated'], [3, 'LunCreated'], [4, 'LunResized'], [5, 'NodeHealthChanged']]);
    expect(reports.every((r) => r.nodeId === nodeId)).toBe(true);
    expect(reports[1].type === 'LunCreated' && reports[1].data.deviceId).toBe(a);
    await eventually(() => online.get(OutboxService).pending().length === 0, 'outbox emptied after acks');
  });
});
