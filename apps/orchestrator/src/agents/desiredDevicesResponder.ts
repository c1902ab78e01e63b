/**
 * Answers a node agent's "which devices should I serve?" (`tandem.agent.<nodeId>.desired-devices`), asked on every
 * (re)connect: the devices with a replica on that node, from the read models once they include everything committed
 * (an answer from a lagging table could make the node withdraw a device it was just told to create).
 */
import { ALL_AGENT_DESIRED_DEVICES_SUBJECT, desiredDevicesRequestSchema, parseSubject, type AgentDevice, type HaSpec } from '@tandem/contracts';
import { readNewestPosition } from '@tandem/event-store';
import type { Msg, NatsConnection } from 'nats';
import { RequestServer } from '../nats/requestServer';
import { prefixed } from '../config';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import type { ReadModelProjector } from '../projections/readModelProjector';
import type { ReplicaRow } from '../database/entities/readModel.entities';
import { agentDeviceFor } from './agentDevice';

export class DesiredDevicesResponder {
  private readonly server: RequestServer;

  constructor(
    private readonly db: OrchestratorDatabase,
    nc: NatsConnection,
    private readonly projector: ReadModelProjector,
    private readonly subjectPrefix: string,
  ) {
    this.server = new RequestServer(nc, prefixed(subjectPrefix, ALL_AGENT_DESIRED_DEVICES_SUBJECT), (msg) => this.replyTo(msg), (error) => ({ error: { code: 'INTERNAL', message: (error as Error).message } }));
  }

  start(): void {
    this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private async replyTo(msg: Msg): Promise<object> {
    const subject = this.subjectPrefix ? msg.subject.slice(this.subjectPrefix.length + 1) : msg.subject;
    const parsedSubject = parseSubject(subject);
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(msg.data));
    } catch {
      body = undefined;
    }
    const request = desiredDevicesRequestSchema.safeParse(body);
    if (parsedSubject?.kind !== 'agent-desired-devices' || !request.success || request.data.nodeId !== parsedSubject.nodeId) {
      return { error: { code: 'BAD_USER_INPUT', message: 'expected {"nodeId": "<uuid>"} on tandem.agent.<the same node id>.desired-devices' } };
    }
    return { nodeId: request.data.nodeId, devices: await this.desiredDevices(request.data.nodeId) };
  }

  /** The devices placed on `nodeId`, as the node should serve them. */
  async desiredDevices(nodeId: string): Promise<AgentDevice[]> {
    // Everything committed before the request (readHeadPosition would stop below other transactions still open).
    if (this.projector.isRunning) await this.projector.waitFor(await readNewestPosition(this.db.store));
    const rows: {
      device_id: string;
      name: string;
      size_bytes: string;
      sector_size: number;
      store_kind: string;
      cache_mode: string;
      replicas: ReplicaRow[] | string;
      ha: HaSpec | string | null;
    }[] = await this.db.dataSource.query(
      `SELECT device_id, name, size_bytes, sector_size, store_kind, cache_mode, replicas, ha FROM ${this.db.table('devices')}
        WHERE replicas @> $1::jsonb ORDER BY device_id`,
      [JSON.stringify([{ nodeId }])],
    );
    // pg parses jsonb; PGlite over the wire may hand back text.
    const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
    return rows.map((r) => {
      const replicas = json(r.replicas).map((x) => ({ nodeId: x.nodeId, priority: x.priority, ...(x.ha ?? {}), ...(x.storeKind ? { storeKind: x.storeKind } : {}) })) as Parameters<typeof agentDeviceFor>[0]['replicas'];
      const ha = r.ha === null ? null : json(r.ha);
      return agentDeviceFor(
        { deviceId: r.device_id, name: r.name, sectorSize: r.sector_size, storeKind: r.store_kind, cacheMode: r.cache_mode, ha, replicas },
        Number(r.size_bytes),
        nodeId,
      );
    });
  }
}
