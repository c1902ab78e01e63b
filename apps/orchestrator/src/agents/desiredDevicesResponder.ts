/**
 * Answers a node agent's "which devices should I serve?" (`tandem.agent.<nodeId>.desired-devices`), asked on every
 * (re)connect: the devices with a replica on that node, from the read models once they include everything committed
 * (an answer from a lagging table could make the node withdraw a device it was just told to create).
 */
import { ALL_AGENT_DESIRED_DEVICES_SUBJECT, desiredDevicesRequestSchema, parseSubject, type AgentDevice } from '@tandem/contracts';
import { readHeadPosition } from '@tandem/event-store';
import type { Msg, NatsConnection } from 'nats';
import { RequestServer } from '../nats/requestServer';
import { prefixed } from '../config';
import type { OrchestratorDatabase } from '../database/orchestratorDatabase';
import type { ReadModelProjector } from '../projections/readModelProjector';

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
    if (this.projector.isRunning) await this.projector.waitFor(await readHeadPosition(this.db.store));
    const rows: { device_id: string; name: string; size_bytes: string; sector_size: number; store_kind: string; cache_mode: string }[] = await this.db.dataSource.query(
      `SELECT device_id, name, size_bytes, sector_size, store_kind, cache_mode FROM ${this.db.table('devices')}
        WHERE replicas @> $1::jsonb ORDER BY device_id`,
      [JSON.stringify([{ nodeId }])],
    );
    return rows.map((r) => ({
      deviceId: r.device_id,
      name: r.name,
      sizeBytes: Number(r.size_bytes),
      sectorSize: r.sector_size as 512 | 4096,
      storeKind: r.store_kind as AgentDevice['storeKind'],
      cacheMode: r.cache_mode as AgentDevice['cacheMode'],
    }));
  }
}
