import { randomUUID } from 'crypto';
import { commandSubject, type CommandReply } from '@tandem/contracts';
import { resetCheckpoint } from '@tandem/event-store';
import { connect, type NatsConnection } from 'nats';
import { OrchestratorModule } from '../app.module';
import { tail } from '../cli/tail';
import { CommandBus } from '../commands/commandBus';
import { prefixed, settingsFromEnv } from '../config';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import { countEvents, describeWithInfrastructure } from '../testing/infrastructure';
import { JetStreamOutbox, OUTBOX_SUBSCRIPTION } from './jetStreamOutbox';
import { NestFactory } from '@nestjs/core';

describeWithInfrastructure('outbox → JetStream, NATS commands and events tail', { nats: true }, (infra) => {
  let db: OrchestratorDatabase;
  let nc: NatsConnection;
  let bus: CommandBus;
  // Unique per run, so runs sharing the NATS server never see each other's events.
  const stream = `TANDEM_EVENTS_T${infra.runTag}`.toUpperCase();
  const subjectPrefix = `t${infra.runTag}`;
  const outboxOptions = { stream, subjectPrefix, duplicateWindowMs: 600_000, pollIntervalMs: 20 };

  beforeAll(async () => {
    db = await infra.openDatabase();
    bus = new CommandBus(db);
    nc = await connect({ servers: infra.natsUrl, timeout: 3000 });
    infra.beforeClose(async () => {
      await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
      await nc.close();
    });
  });

  const streamMessages = async () => (await (await nc.jetstreamManager()).streams.info(stream)).state.messages;
  const until = async (check: () => Promise<boolean>, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  it('publishes each committed event once, and again-but-deduplicated after a crash before its checkpoint', async () => {
    const outbox = new JetStreamOutbox(db, nc, outboxOptions);
    await outbox.start();
    for (let i = 0; i < 20; i++) await bus.executeOrThrow({ type: 'CreateSite', payload: { name: `pub-${i}` } }, 'user:test');
    await until(async () => (await streamMessages()) === 20);
    expect(outbox.counts).toEqual({ published: 20, duplicates: 0 });

    // Published while the orchestrator is "down" (outbox stopped after commit, before publish).
    await outbox.stop();
    await bus.executeOrThrow({ type: 'CreateSite', payload: { name: 'while-down' } }, 'user:test');
    await new Promise((r) => setTimeout(r, 200));
    expect(await streamMessages()).toBe(20);
    const restarted = new JetStreamOutbox(db, nc, outboxOptions);
    await restarted.start();
    await until(async () => (await streamMessages()) === 21);
    expect(restarted.counts).toEqual({ published: 1, duplicates: 0 });
    await restarted.stop();

    // Killed after publishing but before storing its checkpoint: everything goes again, JetStream drops it all.
    await resetCheckpoint(db.store, OUTBOX_SUBSCRIPTION);
    const replaying = new JetStreamOutbox(db, nc, outboxOptions);
    await replaying.start();
    await until(async () => replaying.counts.duplicates === 21);
    await replaying.stop();
    expect(replaying.counts.published).toBe(0);
    expect(await streamMessages()).toBe(await countEvents(db));
  });

  it('tails the stream like tail -f: from now on by default, history with from, resumable with a durable, by type, as text or JSON', async () => {
    // History from the start.
    const lines: string[] = [];
    expect(await tail({ natsUrl: infra.natsUrl, stream, subjectPrefix, from: 0, limit: 3, write: (l) => lines.push(l) })).toBe(3);
    expect(lines[0]).toMatch(/^\s+\d+\s+\S+\s+SiteCreated\s+site-/);
    // A durable resumes after what it acknowledged.
    const first: string[] = [];
    await tail({ natsUrl: infra.natsUrl, stream, subjectPrefix, durable: `spec-${subjectPrefix}`, from: 0, limit: 3, json: true, write: (l) => first.push(l) });
    const more: string[] = [];
    await tail({ natsUrl: infra.natsUrl, stream, subjectPrefix, durable: `spec-${subjectPrefix}`, limit: 1, json: true, write: (l) => more.push(l) });
    expect(JSON.parse(more[0]).globalPosition).toBeGreaterThan(JSON.parse(first[2]).globalPosition);
    const jsm = await nc.jetstreamManager();
    expect((await jsm.consumers.info(stream, `spec-${subjectPrefix}`)).config.inactive_threshold).toBeGreaterThan(0);

    // By default only what is published from now on: the history above is not repeated.
    const site = await bus.executeOrThrow({ type: 'CreateSite', payload: { name: 'tail-me' } }, 'user:test');
    await bus.executeOrThrow({ type: 'RenameSite', payload: { siteId: site.aggregateId, name: 'tailed' } }, 'user:test');
    const live: string[] = [];
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const following = tail({ natsUrl: infra.natsUrl, stream, subjectPrefix, json: true, limit: 2, write: (l) => live.push(l), onReady: () => ready() });
    await isReady;
    const outbox = new JetStreamOutbox(db, nc, outboxOptions);
    await outbox.start();
    expect(await following).toBe(2);
    await outbox.stop();
    expect(live.map((l) => JSON.parse(l))).toMatchObject([
      { type: 'SiteCreated', data: { name: 'tail-me' } },
      { type: 'SiteRenamed', data: { name: 'tailed', previousName: 'tail-me' }, metadata: { actor: 'user:test' } },
    ]);
    const renamed: string[] = [];
    await tail({ natsUrl: infra.natsUrl, stream, subjectPrefix, type: 'SiteRenamed', from: 0, json: true, limit: 1, write: (l) => renamed.push(l) });
    expect(JSON.parse(renamed[0])).toMatchObject({ type: 'SiteRenamed', data: { name: 'tailed' } });
    const fromLate: string[] = [];
    await tail({ natsUrl: infra.natsUrl, stream, subjectPrefix, from: site.globalPosition, json: true, limit: 2, write: (l) => fromLate.push(l) });
    expect(fromLate.map((l) => JSON.parse(l).type)).toEqual(['SiteCreated', 'SiteRenamed']);
    await expect(tail({ natsUrl: infra.natsUrl, stream, subjectPrefix, type: 'NoSuchEvent', limit: 1 })).rejects.toThrow(/unknown event type/);
    // The default consumer is ephemeral: once the tails stopped, only the durable is left.
    await until(async () => {
      const names: string[] = [];
      for await (const c of jsm.consumers.list(stream)) names.push(c.name);
      return names.length === 1 && names[0] === `spec-${subjectPrefix}`;
    });
  });

  it('runs as a Nest app: commands over NATS request/reply, events out through the outbox', async () => {
    const app = await NestFactory.createApplicationContext(
      OrchestratorModule.forRoot(
        settingsFromEnv({}, { databaseUrl: infra.postgresUrl, schema: db.schema, natsUrl: infra.natsUrl, subjectPrefix, eventsStream: stream, duplicateWindowMs: 600_000 }),
      ),
      { logger: ['error', 'warn'] },
    );
    await app.init();
    try {
      const request = async (subject: string, body: unknown): Promise<CommandReply> =>
        JSON.parse(new TextDecoder().decode((await nc.request(prefixed(subjectPrefix, subject), typeof body === 'string' ? body : JSON.stringify(body), { timeout: 5000 })).data));
      const before = await countEvents(db);
      const message = (type: string, payload: unknown) => ({ commandId: randomUUID(), type, schemaVersion: 1, payload, metadata: { actor: 'user:nats' } });

      expect(await request(commandSubject('site', 'create'), 'not json')).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
      expect(await request(commandSubject('site', 'create'), { type: 'CreateSite' })).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
      expect(await request(commandSubject('site', 'create'), message('RenameSite', { name: 'x' }))).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
      expect(await request(commandSubject('site', 'create'), message('CreateSite', { name: '' }))).toMatchObject({
        ok: false,
        error: { code: 'BAD_USER_INPUT', problems: expect.arrayContaining([expect.objectContaining({ path: 'name' })]) },
      });
      expect(await request(commandSubject('site', 'rename'), message('RenameSite', { siteId: randomUUID(), name: 'x' }))).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      expect(await countEvents(db)).toBe(before);

      const created = await request(commandSubject('site', 'create'), message('CreateSite', { name: 'over-nats' }));
      expect(created).toMatchObject({ ok: true, streamVersion: 1 });
      expect(await request(commandSubject('site', 'create'), message('CreateSite', { name: 'Over-NATS' }))).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
      await until(async () => (await streamMessages()) === (await countEvents(db)));
    } finally {
      await app.close();
    }
  });
});
