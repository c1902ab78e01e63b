/**
 * The control plane's health and metrics endpoints, over real HTTP against real Postgres and NATS: the orchestrator's
 * own server and a gateway beside it (as in `tandem stack`). Readiness fails when the database or NATS goes away.
 */
import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ORCHESTRATOR_DATABASE, OrchestratorHttpServer, OrchestratorModule, OrchestratorObservability, settingsFromEnv as orchestratorSettings, type OrchestratorDatabase } from '@tandem/orchestrator';
import { describeWithInfrastructure } from '@tandem/orchestrator/testing';
import type { NatsConnection } from 'nats';
import { eventually, histogram, httpGet, parsePrometheus, sampleValue } from '@tandem/testing';
import { settingsFromEnv } from '../config';
import { GATEWAY_NATS } from '../gateway.module';
import { bootstrapGateway } from '../main';

describeWithInfrastructure('health and metrics endpoints', { nats: true }, (infra) => {
  let db: OrchestratorDatabase;
  let orchestrator: INestApplicationContext;
  let orchestratorUrl: string;
  let gateway: Awaited<ReturnType<typeof bootstrapGateway>>;
  let gatewayBase: string;

  beforeAll(async () => {
    db = await infra.openDatabase();
    const settings = orchestratorSettings({}, {
      databaseUrl: infra.postgresUrl,
      schema: db.schema,
      natsUrl: infra.natsUrl,
      subjectPrefix: `h${infra.runTag}`,
      eventsStream: `TANDEM_EVENTS_H${infra.runTag}`.toUpperCase(),
      reportsStream: `TANDEM_AGENT_REPORTS_H${infra.runTag}`.toUpperCase(),
      httpListen: { host: '127.0.0.1', port: 0 },
    });
    orchestrator = await NestFactory.createApplicationContext(OrchestratorModule.forRoot(settings), { logger: false });
    await orchestrator.init();
    orchestratorUrl = `http://127.0.0.1:${orchestrator.get(OrchestratorHttpServer).address()!.port}`;
    const gwSettings = settingsFromEnv({}, { apiToken: 'h'.repeat(32), host: '127.0.0.1', port: 0, subjectPrefix: settings.subjectPrefix, eventsStream: settings.eventsStream, natsUrl: infra.natsUrl });
    gateway = await bootstrapGateway(gwSettings, { database: db, orchestrator: orchestrator.get(OrchestratorObservability), logger: false });
    gatewayBase = gateway.url.replace(/\/graphql$/, '');
    infra.beforeClose(async () => {
      await gateway.app.close();
      // The last test closed its database already.
      await orchestrator.close().catch(() => undefined);
    });
  });

  it('orchestrator: live, ready (database, NATS, projection lag) and its series', async () => {
    expect((await httpGet(`${orchestratorUrl}/health/live`)).status).toBe(200);
    const ready = await httpGet(`${orchestratorUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ok', details: { database: { status: 'up' }, nats: { status: 'up' }, projection: { status: 'up', maxLagEvents: 1000 } } });
    const m = parsePrometheus((await httpGet(`${orchestratorUrl}/metrics`)).body);
    expect(sampleValue(m, 'tandem_events_head_position')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(m, 'tandem_projection_lag_events')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(m, 'tandem_outbox_lag_events')).toBeGreaterThanOrEqual(0);
    expect(m.get('tandem_alerts_active')?.type).toBe('gauge');
    expect(m.get('tandem_nodes')?.type).toBe('gauge');
    expect(sampleValue(m, 'tandem_orchestrator_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('gateway: a GraphQL request is timed by operation name; the co-located orchestrator series are on the same page', async () => {
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'query HealthSpecSites { sites { edges { node { id } } } }' }) });
    expect(response.status).toBe(200);
    const m = parsePrometheus((await httpGet(`${gatewayBase}/metrics`)).body);
    const h = histogram(m, 'tandem_graphql_request_duration_seconds', { operation: 'HealthSpecSites', type: 'query', outcome: 'ok' });
    expect(h?.count).toBe(1);
    expect(h!.sum).toBeGreaterThan(0);
    expect(sampleValue(m, 'tandem_events_head_position')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(m, 'tandem_gateway_process_resident_memory_bytes')).toBeGreaterThan(0);
    const ready = await httpGet(`${gatewayBase}/health/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body).details).toMatchObject({ database: { status: 'up' }, nats: { status: 'up' }, orchestrator_nats: { status: 'up' }, projection: { status: 'up' } });
    expect((await httpGet(`${gatewayBase}/health/live`)).status).toBe(200);
  });

  it('readiness fails once NATS is gone (gateway) and once the database is closed (orchestrator); liveness stays', async () => {
    await gateway.app.get<NatsConnection>(GATEWAY_NATS).close();
    const gw = await httpGet(`${gatewayBase}/health/ready`);
    expect(gw.status).toBe(503);
    expect(JSON.parse(gw.body)).toMatchObject({ status: 'error', error: { nats: { status: 'down', message: 'connection closed' } } });
    expect((await httpGet(`${gatewayBase}/health/live`)).status).toBe(200);

    await orchestrator.get<OrchestratorDatabase>(ORCHESTRATOR_DATABASE).close();
    const orch = await eventually(async () => {
      const r = await httpGet(`${orchestratorUrl}/health/ready`);
      return r.status === 503 ? r : null;
    }, 'orchestrator not ready');
    expect(JSON.parse(orch.body).error.database.status).toBe('down');
    expect((await httpGet(`${orchestratorUrl}/health/live`)).status).toBe(200);
  });
});
