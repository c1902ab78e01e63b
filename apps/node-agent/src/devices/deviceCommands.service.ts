/**
 * Device commands from the orchestrator, applied to the live target one at a time: create, resize (grow only),
 * delete, and sync (converge on a desired set, also asked for on every (re)connect). Idempotent twice over: the
 * reply to each command id is kept (on disk) and a replay gets it back unchanged; and the changes themselves
 * compare the wanted state with what the node serves, so a lost reply never creates a device twice.
 */
import { randomUUID } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import {
  AGENT_COMMAND_VERBS,
  ContractViolation,
  agentCommandSchemas,
  agentCommandSubject,
  agentDesiredDevicesSubject,
  desiredDevicesReplySchema,
  idSchema,
  type AgentCommand,
  type AgentCommandReply,
  type AgentCommandVerb,
  type AgentDevice,
  type AgentHa,
  type DeviceChange,
  type ErrorCode,
} from '@tandem/contracts';
import { HostConfigError, type HostedLun } from '@tandem/target-host';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { NODE_AGENT_SETTINGS, NodeAgentSettings } from '../config';
import { NatsService } from '../nats/nats.service';
import { OutboxService } from '../outbox/outbox.service';
import { SerialQueue, writeFileAtomic } from '../state/atomicFile';
import { NodeIdentityService } from '../state/nodeIdentity.service';
import { TargetHostService } from '../target/targetHost.service';

export const COMMAND_REPLIES_FILE = 'command-replies.json';
/** Replies kept for replays; older command ids fall back to state comparison (still no double change). */
const KEPT_REPLIES = 1024;

class CommandRefused extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/**
 * The target of a HA device, the same on every replica's node: generated from the device's name (readable in an
 * initiator's list) and the start of its id (two devices of one name never share a target).
 */
export function haTargetName(prefix: string, device: { deviceId: string; name: string }): string {
  const slug = device.name.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'device';
  return `${prefix}:${slug}-${device.deviceId.slice(0, 8)}`;
}

/** LUNs whose device id is a UUID belong to the orchestrator; others come from the operator's own config. */
const isManaged = (lun: HostedLun): boolean => idSchema.safeParse(lun.deviceId).success;

@Injectable()
export class DeviceCommandsService implements OnModuleInit, OnModuleDestroy {
  private readonly queue = new SerialQueue();
  private replies = new Map<string, AgentCommandReply>();
  private readonly subscriptions: Subscription[] = [];
  private readonly log = new Logger('DeviceCommands');
  private stopped = false;

  constructor(
    @Inject(NODE_AGENT_SETTINGS) private readonly settings: NodeAgentSettings,
    private readonly identity: NodeIdentityService,
    private readonly targets: TargetHostService,
    private readonly outbox: OutboxService,
    private readonly nats: NatsService,
  ) {}

  async onModuleInit(): Promise<void> {
    const saved = await fsp.readFile(this.repliesFile, 'utf8').catch(() => '[]');
    try {
      this.replies = new Map((JSON.parse(saved) as AgentCommandReply[]).map((r) => [r.commandId ?? '', r]));
    } catch {
      this.log.warn(`${this.repliesFile} is not readable; replays of earlier commands are answered from state`);
    }
    let subscribed = false;
    this.nats.onConnected((nc) => {
      if (!subscribed) {
        subscribed = true;
        this.subscribe(nc);
      }
    });
  }

  private get repliesFile(): string {
    return path.join(this.settings.stateDir, COMMAND_REPLIES_FILE);
  }

  private subscribe(nc: NatsConnection): void {
    for (const verb of AGENT_COMMAND_VERBS) {
      const subject = this.nats.subject(agentCommandSubject(this.identity.nodeId, verb));
      this.subscriptions.push(nc.subscribe(subject, { callback: (err, msg) => !err && void this.answer(verb, msg) }));
    }
  }

  private async answer(verb: AgentCommandVerb, msg: Msg): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(msg.data));
    } catch {
      body = undefined;
    }
    const reply = body === undefined ? this.refusal(undefined, new CommandRefused('BAD_USER_INPUT', 'the request is not JSON')) : await this.execute(verb, body);
    if (msg.reply) msg.respond(JSON.stringify(reply));
  }

  /** Validates and applies one command (or returns the reply it got the first time). Never throws. */
  execute(verb: AgentCommandVerb, body: unknown): Promise<AgentCommandReply> {
    const parsed = agentCommandSchemas[verb]?.safeParse(body);
    if (!parsed) return Promise.resolve(this.refusal(undefined, new CommandRefused('BAD_USER_INPUT', `unknown verb ${verb}`)));
    if (!parsed.success) {
      const commandId = typeof body === 'object' && body && idSchema.safeParse((body as { commandId?: unknown }).commandId).success ? (body as { commandId: string }).commandId : undefined;
      return Promise.resolve(this.refusal(commandId, ContractViolation.fromZodIssues(`agent command ${verb}`, parsed.error.issues)));
    }
    const command = parsed.data as AgentCommand;
    return this.queue.run(async () => {
      const earlier = this.replies.get(command.commandId);
      if (earlier) return earlier;
      let reply: AgentCommandReply;
      try {
        const changes = await this.apply(verb, command);
        reply = { ok: true, commandId: command.commandId, nodeId: this.identity.nodeId, changes };
      } catch (err) {
        reply = this.refusal(command.commandId, err);
        if (reply.ok === false && reply.error.code === 'INTERNAL') this.log.error(`${verb} ${command.commandId}: ${reply.error.message}`);
      }
      // A refusal for a cause that may pass (INTERNAL) is not remembered, so a retry tries again.
      if (reply.ok || reply.error.code !== 'INTERNAL') await this.remember(reply);
      return reply;
    });
  }

  private async apply(verb: AgentCommandVerb, command: AgentCommand): Promise<DeviceChange[]> {
    const cause = { causationId: command.commandId, correlationId: command.correlationId };
    switch (verb) {
      case 'create-device':
        return [await this.ensureDevice((command as AgentCommand<'create-device'>).device, cause)];
      case 'resize-device': {
        const { deviceId, sizeBytes } = command as AgentCommand<'resize-device'>;
        return [await this.resize(this.requireDevice(deviceId), sizeBytes, cause)];
      }
      case 'delete-device': {
        const { deviceId, destroyData } = command as AgentCommand<'delete-device'>;
        return [await this.remove(deviceId, destroyData, cause)];
      }
      case 'sync-devices':
        return this.converge((command as AgentCommand<'sync-devices'>).devices, cause);
      case 'resolve-split-brain': {
        const { deviceId, survivorNodeId } = command as AgentCommand<'resolve-split-brain'>;
        return [await this.resolveSplitBrain(this.requireDevice(deviceId), survivorNodeId)];
      }
    }
  }

  /** Creates what is missing, grows what is smaller, withdraws managed devices that are not wanted (data kept). */
  async converge(devices: readonly AgentDevice[], cause: { causationId?: string; correlationId?: string } = {}): Promise<DeviceChange[]> {
    const changes: DeviceChange[] = [];
    for (const device of devices) {
      try {
        changes.push(await this.ensureDevice(device, cause));
      } catch (err) {
        this.log.error(`cannot converge device ${device.deviceId}: ${(err as Error).message}`);
      }
    }
    const wanted = new Set(devices.map((d) => d.deviceId));
    for (const lun of [...this.host().luns]) {
      if (isManaged(lun) && !wanted.has(lun.deviceId)) changes.push(await this.remove(lun.deviceId, false, cause));
    }
    return changes;
  }

  private async ensureDevice(device: AgentDevice, cause: object): Promise<DeviceChange> {
    const existing = this.host().findDevice(device.deviceId);
    if (existing) {
      if (existing.unit.blockSize !== device.sectorSize) {
        throw new CommandRefused('CONFLICT', `device ${device.deviceId} exists here with ${existing.unit.blockSize}-byte sectors, not ${device.sectorSize}`);
      }
      if (existing.store.sizeBytes > device.sizeBytes) {
        throw new CommandRefused('CONFLICT', `device ${device.deviceId} exists here with ${existing.store.sizeBytes} bytes; it cannot shrink to ${device.sizeBytes}`);
      }
      return this.resize(existing, device.sizeBytes, cause);
    }
    const host = this.host();
    const ha = device.ha ? this.haLunConfig(device.ha) : undefined;
    // A HA device has the same target name on every replica's node (one target, a portal group per node).
    const targetName = device.targetName ?? (device.ha ? haTargetName(this.settings.targetIqnPrefix, device) : `${this.settings.targetIqnPrefix}:${device.deviceId}`);
    const lunConfig = (lun: number) => ({
      lun,
      deviceId: device.deviceId,
      name: device.name,
      blockSize: device.sectorSize,
      // Thin: creating a large device must not stall the node while it preallocates. LSFS: a directory per device.
      store:
        device.storeKind === 'LSFS'
          ? { kind: 'lsfs', path: path.join(this.settings.imageDir, `${device.deviceId}.lsfs`), sizeBytes: device.sizeBytes, create: true }
          : { kind: 'flat', path: path.join(this.settings.imageDir, `${device.deviceId}.img`), sizeBytes: device.sizeBytes, create: true, thin: true },
      // The device's cache mode: write-back / write-through get a RAM cache of the node's per-device size; none runs without one.
      ...(device.cacheMode === 'none' ? {} : { cache: { mode: device.cacheMode, sizeBytes: this.settings.cacheBytesPerDevice } }),
      ...(ha ? { ha } : {}),
    });
    await fsp.mkdir(this.settings.imageDir, { recursive: true });
    let lun: HostedLun;
    if (host.device(targetName)) {
      lun = await host.addLun(targetName, lunConfig(host.freeLun(targetName)));
    } else {
      await host.addTarget({ name: targetName, luns: [lunConfig(0)] });
      lun = host.findLun(targetName, 0)!;
    }
    await this.targets.persist();
    await this.outbox.record({ type: 'LunCreated', ...cause, data: { deviceId: device.deviceId, targetName, lun: lun.lun, sizeBytes: lun.store.sizeBytes, sectorSize: device.sectorSize } });
    return { deviceId: device.deviceId, outcome: 'created', targetName, lun: lun.lun, sizeBytes: lun.store.sizeBytes };
  }

  /** The LUN's `ha` section (libs/target-host) for this node's replica. */
  private haLunConfig(ha: AgentHa) {
    const network = this.host().network;
    if (!network) {
      throw new CommandRefused('CONFLICT', 'this node has no "replication" section in its config (sync and heartbeat links), so it cannot hold a HA replica');
    }
    if (network.nodeId !== this.identity.nodeId) {
      throw new CommandRefused(
        'CONFLICT',
        `this node's replication.nodeId is ${network.nodeId}, not its node id ${this.identity.nodeId}; remove replication.nodeId from the config so that partners know it by its node id`,
      );
    }
    return {
      priority: ha.priority,
      portGroup: ha.portGroup,
      accessState: ha.paths,
      strategy: ha.strategy,
      witness: ha.witness,
      initialGeneration: ha.initialGeneration,
      ...(ha.initialSync === 'peer' ? {} : { initialSync: ha.initialSync }),
      partners: ha.partners,
      ...(this.settings.resyncBytesPerSecond > 0 ? { resyncBytesPerSecond: this.settings.resyncBytesPerSecond } : {}),
    };
  }

  /**
   * The administrator chose `survivorNodeId` after a split-brain. On the survivor: keep this data and resync the
   * partners from it. Elsewhere: nothing to do here — the survivor's copy overwrites this replica.
   */
  private async resolveSplitBrain(lun: HostedLun, survivorNodeId: string): Promise<DeviceChange> {
    const change = { deviceId: lun.deviceId, targetName: lun.target, lun: lun.lun };
    if (!lun.ha) throw new CommandRefused('CONFLICT', `device ${lun.deviceId} is not a HA replica on this node`);
    if (survivorNodeId !== this.identity.nodeId) return { ...change, outcome: 'unchanged' };
    try {
      await lun.ha.resolveSplitBrainKeepingThis();
    } catch (err) {
      throw new CommandRefused('CONFLICT', (err as Error).message);
    }
    return { ...change, outcome: 'resolved' };
  }

  private async resize(lun: HostedLun, sizeBytes: number, cause: object): Promise<DeviceChange> {
    const change = { deviceId: lun.deviceId, targetName: lun.target, lun: lun.lun };
    if (sizeBytes % lun.unit.blockSize !== 0) throw new CommandRefused('BAD_USER_INPUT', `size ${sizeBytes} is not a multiple of the ${lun.unit.blockSize}-byte sector`);
    if (sizeBytes < lun.store.sizeBytes) throw new CommandRefused('BAD_USER_INPUT', `device ${lun.deviceId} holds ${lun.store.sizeBytes} bytes; devices only grow`);
    if (sizeBytes === lun.store.sizeBytes) return { ...change, outcome: 'unchanged', sizeBytes };
    const previous = await this.host().resizeLun(lun.target, lun.lun, sizeBytes);
    await this.outbox.record({ type: 'LunResized', ...cause, data: { ...change, sizeBytes, previousSizeBytes: previous } });
    return { ...change, outcome: 'resized', sizeBytes };
  }

  private async remove(deviceId: string, destroyData: boolean, cause: object): Promise<DeviceChange> {
    const host = this.host();
    const lun = host.findDevice(deviceId);
    if (!lun) return { deviceId, outcome: 'unchanged' };
    const onlyLun = host.luns.filter((l) => l.target === lun.target).length === 1;
    // A target left without LUNs goes too (its sessions can reach nothing any more; the config cannot hold it).
    if (onlyLun) await host.removeTarget(lun.target);
    else await host.removeLun(lun.target, lun.lun);
    await this.targets.persist();
    const image = lun.config.store.path;
    if (destroyData) await Promise.all([image, `${image}.pr.json`, `${image}.ha`].map((f) => fsp.rm(f, { force: true, recursive: true })));
    await this.outbox.record({ type: 'LunDeleted', ...cause, data: { deviceId, targetName: lun.target, lun: lun.lun, dataDestroyed: destroyData } });
    return { deviceId, outcome: 'deleted', targetName: lun.target, lun: lun.lun };
  }

  /** Asks the orchestrator which devices this node should serve and converges; false when nobody answered. */
  async reconcile(): Promise<boolean> {
    const nc = this.nats.connection;
    if (!nc || this.stopped) return false;
    let devices: AgentDevice[];
    try {
      const msg = await nc.request(this.nats.subject(agentDesiredDevicesSubject(this.identity.nodeId)), JSON.stringify({ nodeId: this.identity.nodeId }), { timeout: 3000 });
      devices = desiredDevicesReplySchema.parse(JSON.parse(new TextDecoder().decode(msg.data))).devices;
    } catch (err) {
      this.log.warn(`desired devices not available (${(err as Error).message}); keeping the local set`);
      return false;
    }
    const changes = await this.queue.run(() => this.converge(devices, { correlationId: randomUUID() }));
    const changed = changes.filter((c) => c.outcome !== 'unchanged');
    if (changed.length > 0) this.log.log(`reconciled: ${changed.map((c) => `${c.deviceId} ${c.outcome}`).join(', ')}`);
    return true;
  }

  private requireDevice(deviceId: string): HostedLun {
    const lun = this.host().findDevice(deviceId);
    if (!lun) throw new CommandRefused('NOT_FOUND', `device ${deviceId} is not on this node`);
    return lun;
  }

  private host() {
    const host = this.targets.current;
    if (!host) throw new CommandRefused('INTERNAL', 'the target host is not running');
    return host;
  }

  private async remember(reply: AgentCommandReply): Promise<void> {
    if (!reply.commandId) return;
    this.replies.set(reply.commandId, reply);
    while (this.replies.size > KEPT_REPLIES) this.replies.delete(this.replies.keys().next().value as string);
    await writeFileAtomic(this.repliesFile, JSON.stringify([...this.replies.values()])).catch((err) => this.log.warn(`cannot keep command replies: ${(err as Error).message}`));
  }

  private refusal(commandId: string | undefined, err: unknown): AgentCommandReply {
    const nodeId = this.identity.nodeId;
    if (err instanceof ContractViolation) return { ok: false, commandId, nodeId, error: { code: 'BAD_USER_INPUT', message: err.message, problems: [...err.problems] } };
    if (err instanceof CommandRefused) return { ok: false, commandId, nodeId, error: { code: err.code, message: err.message } };
    if (err instanceof HostConfigError) return { ok: false, commandId, nodeId, error: { code: 'BAD_USER_INPUT', message: err.message } };
    return { ok: false, commandId, nodeId, error: { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) } };
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    for (const s of this.subscriptions) s.unsubscribe();
    await this.queue.idle();
  }
}
