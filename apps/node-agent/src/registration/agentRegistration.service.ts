/**
 * Registers the node with the orchestrator (RegisterNode, request/reply), retrying with backoff while nobody
 * answers, under one command id so the retries are one command. After an answer (and after every reconnect) it
 * asks for the desired device set and converges.
 */
import { randomUUID } from 'crypto';
import { readFileSync, statfsSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { RegisterNode, commandReplySchema, type CommandReply, type TandemCommandPayload } from '@tandem/contracts';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from '../config';
import { DeviceCommandsService } from '../devices/deviceCommands.service';
import { NatsService } from '../nats/nats.service';
import { NodeIdentityService } from '../state/nodeIdentity.service';
import { TargetHostService } from '../target/targetHost.service';
import { AdvertiseError, advertisedAddresses } from './advertisedAddresses';

const BACKOFF_MS = [500, 1000, 2000, 5000, 10_000, 30_000];

export type RegistrationState = 'pending' | 'registered' | 'refused';

export function agentVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

@Injectable()
export class AgentRegistrationService implements OnModuleInit, OnModuleDestroy {
  private readonly commandId = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private inFlight = false;
  private stopped = false;
  private readonly log = new Logger('Registration');
  state: RegistrationState = 'pending';
  lastReply: CommandReply | null = null;

  constructor(
    @Inject(NODE_AGENT_SETTINGS) private readonly settings: NodeAgentSettings,
    private readonly identity: NodeIdentityService,
    private readonly targets: TargetHostService,
    private readonly nats: NatsService,
    private readonly devices: DeviceCommandsService,
  ) {}

  onModuleInit(): void {
    this.nats.onConnected(() => {
      if (this.state === 'pending') void this.register();
      else void this.devices.reconcile();
    });
  }

  /** What the node tells the orchestrator about itself. */
  registration(): TandemCommandPayload<'RegisterNode'> {
    const { portals, syncAddresses, heartbeatAddresses } = this.advertised();
    const name = (this.settings.nodeName ?? os.hostname()).replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || 'node';
    return RegisterNode.schema.parse({
      nodeId: this.identity.nodeId,
      name,
      version: agentVersion(),
      build: this.settings.build,
      portals,
      syncAddresses,
      heartbeatAddresses,
      capacityBytes: this.settings.capacityBytes ?? fileSystemBytes(this.settings.imageDir, this.settings.stateDir),
    });
  }

  /** Portals, sync and heartbeat addresses to register; throws AdvertiseError when a wildcard bind has none. */
  advertised(): Pick<TandemCommandPayload<'RegisterNode'>, 'portals' | 'syncAddresses' | 'heartbeatAddresses'> {
    const host = this.targets.current;
    const advertise = this.settings.advertise;
    // As actually bound (port 0 resolved), with a wildcard bind replaced by addresses others can dial.
    const portals = advertisedAddresses(
      (host?.server.listening() ?? []).filter((p) => p.port > 0).map((p) => ({ host: p.host, port: p.port, portalGroupTag: p.portalGroupTag })),
      'iSCSI portal',
      advertise,
    );
    // Sync and heartbeat links, for the partners of HA devices to dial.
    const syncAddresses = advertisedAddresses((host?.network?.syncAddresses() ?? []).filter((a) => a.port > 0).map(({ host, port }) => ({ host, port })), 'sync link', advertise);
    const heartbeatAddresses = advertisedAddresses((host?.network?.heartbeatAddresses() ?? []).filter((a) => a.port > 0).map(({ host, port }) => ({ host, port })), 'heartbeat link', advertise);
    return { portals, syncAddresses, heartbeatAddresses };
  }

  private async register(): Promise<void> {
    if (this.inFlight || this.stopped || this.state !== 'pending') return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const nc = this.nats.connection;
    if (!nc) return;
    this.inFlight = true;
    try {
      const message = { commandId: this.commandId, type: RegisterNode.type, schemaVersion: RegisterNode.schemaVersion, payload: this.registration(), metadata: { actor: `node:${this.identity.nodeId}` } };
      const msg = await nc.request(this.nats.subject(RegisterNode.subject), JSON.stringify(message), { timeout: 3000 });
      const reply = commandReplySchema.parse(JSON.parse(new TextDecoder().decode(msg.data)));
      this.lastReply = reply;
      if (reply.ok) {
        this.state = 'registered';
        this.log.log(`registered as ${this.identity.nodeId}`);
        void this.devices.reconcile();
      } else if (reply.error.code === 'INTERNAL') {
        // The orchestrator failed (its database, …), it did not decide: ask again.
        throw new Error(`the orchestrator failed: ${reply.error.message}`);
      } else {
        // A definite answer (e.g. version differs from the cluster's): retrying will not change it.
        this.state = 'refused';
        this.log.error(`registration refused: ${reply.error.code}: ${reply.error.message}`);
      }
    } catch (err) {
      if (err instanceof AdvertiseError) {
        // No address to register: retrying cannot find one (main refuses to start on this before NATS is asked).
        this.state = 'refused';
        this.log.error(`registration refused: ${err.message}`);
        return;
      }
      const delay = BACKOFF_MS[Math.min(this.attempt++, BACKOFF_MS.length - 1)];
      this.log.warn(`registration not done (${(err as Error).message}); retrying in ${delay} ms`);
      if (!this.stopped) this.timer = setTimeout(() => void this.register(), delay);
    } finally {
      this.inFlight = false;
    }
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

function fileSystemBytes(...dirs: string[]): number {
  for (const dir of dirs) {
    try {
      const st = statfsSync(dir);
      return st.blocks * st.bsize;
    } catch {
      // not created yet: try the next one
    }
  }
  return 1;
}
