/**
 * One node agent of the running stack, kept alive: a death is reported with the last lines of its log and, unless
 * --no-restart, followed by a restart with backoff; `tandem stack kill|restart` act through it. Every change of
 * process (restart, kill, manual restart) runs one at a time, so a manual restart never races an automatic one.
 */
import type { ChildExit, StackChild } from './childProcess';
import { describeExit } from './childProcess';
import type { ControlReply } from './controlProtocol';
import { waitForRegistration, type RunningAgent } from './nodeAgents';
import { formatDelay, nextRestartAttempt, restartDelayMs } from './restartBackoff';
import type { StackNode } from './stackOptions';

export type AgentState = 'running' | 'restart-pending' | 'down' | 'starting' | 'stopping' | 'stopped';

export interface SupervisorContext {
  autoRestart: boolean;
  registrationTimeoutMs: number;
  agentStopGraceMs: number;
  /** Starts the node's agent process (config written, child spawned). */
  launch(node: StackNode): Promise<StackChild>;
  /** A death while the stack is still starting: the stack stops, as before the nodes were supervised. */
  deathWhileStarting(child: StackChild, exit: ChildExit): void;
  say(text: string): void;
  warn(text: string): void;
  /** The command that brings a node back, for messages. */
  restartCommand(node: string): string;
  /** Pid or state changed: stack.json is rewritten. */
  changed(): void;
}

/** How long `tandem stack kill` waits for the killed process to be gone. */
const KILL_EXIT_LIMIT_MS = 10_000;

export class AgentSupervisor {
  private current: StackChild;
  private agentState: AgentState = 'running';
  private supervising = false;
  private closed = false;
  private attempt = 0;
  private startedAt = Date.now();
  private restartTimer: NodeJS.Timeout | undefined;
  private restartAt = 0;
  /** The tail of the one-at-a-time queue of process changes. */
  private changes: Promise<unknown> = Promise.resolve();

  constructor(
    readonly node: StackNode,
    child: StackChild,
    private readonly ctx: SupervisorContext,
  ) {
    this.current = child;
    this.adopt(child);
  }

  get name(): string {
    return this.node.name;
  }

  get child(): StackChild {
    return this.current;
  }

  get agent(): RunningAgent {
    return { node: this.node, child: this.current };
  }

  get state(): AgentState {
    return this.agentState;
  }

  /** From now on a death is this supervisor's to handle (the stack is ready). */
  supervise(): void {
    this.supervising = true;
  }

  private adopt(child: StackChild): void {
    this.current = child;
    this.startedAt = Date.now();
    child.onUnexpectedExit = (exit) => this.onDeath(child, exit);
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const next = this.changes.then(change);
    this.changes = next.catch(() => undefined);
    return next;
  }

  private onDeath(child: StackChild, exit: ChildExit): void {
    if (this.closed || child !== this.current) return;
    if (!this.supervising) return this.ctx.deathWhileStarting(child, exit);
    const last = child.lastLines();
    this.ctx.warn(
      `tandem stack: ${this.name} (pid ${child.pid}) died (${describeExit(exit)}); the rest of the stack keeps running. ` +
        `Its last log lines (${child.logFile()}):\n${last.length ? last.map((l) => `  ${this.name} | ${l}`).join('\n') : `  ${this.name} | (no output)`}\n`,
    );
    this.afterDeath();
  }

  /** Down: wait for the next attempt, or (--no-restart) stay down and say how to bring it back. */
  private afterDeath(): void {
    if (!this.ctx.autoRestart) {
      this.agentState = 'down';
      this.ctx.say(`tandem stack: ${this.name} stays down (--no-restart); bring it back with: ${this.ctx.restartCommand(this.name)}\n`);
      this.ctx.changed();
      return;
    }
    this.attempt = nextRestartAttempt(this.attempt, Date.now() - this.startedAt);
    const delay = restartDelayMs(this.attempt);
    this.agentState = 'restart-pending';
    this.restartAt = Date.now() + delay;
    this.ctx.say(`tandem stack: restarting ${this.name} in ${formatDelay(delay)} (attempt ${this.attempt})\n`);
    this.restartTimer = setTimeout(() => void this.serially(() => this.restartNow()), delay);
    this.ctx.changed();
  }

  private async restartNow(): Promise<void> {
    // A manual restart (or the stack stopping) got there first.
    if (this.closed || this.agentState !== 'restart-pending') return;
    this.restartTimer = undefined;
    const child = await this.start();
    if (child) void this.announceRegistration(child);
  }

  /** Spawns a new agent; a failure to spawn counts as a death. */
  private async start(): Promise<StackChild | undefined> {
    this.agentState = 'starting';
    let child: StackChild;
    try {
      child = await this.ctx.launch(this.node);
    } catch (error) {
      this.ctx.warn(`tandem stack: ${this.name} could not be started: ${(error as Error).message}\n`);
      if (!this.closed) this.afterDeath();
      return undefined;
    }
    this.adopt(child);
    this.agentState = 'running';
    this.ctx.say(`tandem stack: ${this.name} started again (pid ${child.pid})\n`);
    this.ctx.changed();
    return child;
  }

  /** Resolves with an error message, or undefined once the agent is registered again. */
  private async registration(child: StackChild): Promise<string | undefined> {
    const gone = () => this.closed || child !== this.current || child.exited !== null;
    try {
      await waitForRegistration({ node: this.node, child }, Date.now() + this.ctx.registrationTimeoutMs, gone);
      return undefined;
    } catch (error) {
      if (this.closed) return 'the stack is stopping';
      if (child.exited) return `it died while starting (${describeExit(child.exited)}); see ${child.logFile()}`;
      return (error as Error).message;
    }
  }

  private async announceRegistration(child: StackChild): Promise<void> {
    const failure = await this.registration(child);
    if (!failure) this.ctx.say(`tandem stack: ${this.name} is back (pid ${child.pid}, registered)\n`);
    else if (!this.closed && child === this.current && !child.exited) this.ctx.warn(`tandem stack: ${failure}\n`);
  }

  /** `tandem stack kill NODE`: SIGKILL, then the same as any death (reported, restarted unless --no-restart). */
  kill(): Promise<ControlReply> {
    return this.serially(async (): Promise<ControlReply> => {
      if (this.closed) return { ok: false, code: 'STOPPING', message: 'the stack is stopping' };
      const child = this.current;
      if (this.agentState !== 'running' || child.exited) return { ok: false, code: 'ALREADY_DOWN', message: this.downMessage() };
      child.killAsIfCrashed();
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([child.waitForExit(), new Promise<null>((r) => (timer = setTimeout(() => r(null), KILL_EXIT_LIMIT_MS)))]);
      clearTimeout(timer);
      if (!exited) return { ok: false, code: 'FAILED', message: `${this.name} (pid ${child.pid}) was sent SIGKILL but has not exited within ${KILL_EXIT_LIMIT_MS / 1000} s` };
      const next = this.ctx.autoRestart ? 'the stack restarts it' : `it stays down (--no-restart); ${this.ctx.restartCommand(this.name)} brings it back`;
      return { ok: true, message: `killed ${this.name} (pid ${child.pid}, SIGKILL); ${next}` };
    });
  }

  /** `tandem stack restart NODE`: SIGTERM and start again, or just start a node that is down; replies once it registered. */
  async restart(): Promise<ControlReply> {
    const started = await this.serially(async (): Promise<{ child: StackChild; wasRunning: boolean } | ControlReply> => {
      if (this.closed) return { ok: false, code: 'STOPPING', message: 'the stack is stopping' };
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
      const wasRunning = this.agentState === 'running' && !this.current.exited;
      if (wasRunning) {
        this.agentState = 'stopping';
        const exit = await this.current.stop(this.ctx.agentStopGraceMs);
        if (exit.killed) this.ctx.warn(`tandem stack: ${this.name} did not stop within ${this.ctx.agentStopGraceMs / 1000} s of SIGTERM; killed\n`);
      }
      this.attempt = 0;
      this.ctx.say(`tandem stack: ${wasRunning ? 'restarting' : 'starting'} ${this.name} (asked by tandem stack restart)\n`);
      const child = await this.start();
      if (!child) return { ok: false, code: 'FAILED', message: `${this.name} could not be started; see the stack's output` };
      return { child, wasRunning };
    });
    if ('ok' in started) return started;
    const failure = await this.registration(started.child);
    if (failure) return { ok: false, code: 'FAILED', message: `${this.name} (pid ${started.child.pid}) was started but has not registered: ${failure}` };
    this.ctx.say(`tandem stack: ${this.name} is back (pid ${started.child.pid}, registered)\n`);
    return { ok: true, message: `${this.name} ${started.wasRunning ? 'restarted' : 'started'} (pid ${started.child.pid}) and registered` };
  }

  private downMessage(): string {
    if (this.agentState === 'restart-pending') return `${this.name} is already down; the stack restarts it in ${formatDelay(Math.max(0, this.restartAt - Date.now()))}`;
    if (this.agentState === 'down') return `${this.name} is already down (--no-restart); ${this.ctx.restartCommand(this.name)} brings it back`;
    return `${this.name} is already down (${this.agentState}); ${this.ctx.restartCommand(this.name)} brings it back`;
  }

  /** Stops supervising and stops the agent (SIGTERM, SIGKILL after the grace period). */
  async shutdown(): Promise<ChildExit & { killed: boolean }> {
    this.closed = true;
    this.agentState = 'stopping';
    clearTimeout(this.restartTimer);
    await this.changes;
    const exit = await this.current.stop(this.ctx.agentStopGraceMs);
    this.agentState = 'stopped';
    return exit;
  }

  /** Kills at once (a second Ctrl-C; the stop running out of time). */
  killNow(): void {
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.current.kill();
  }
}
