/**
 * The session-wide command window (RFC 7143 §4.2.2.1): non-immediate commands are delivered in CmdSN order,
 * commands outside [ExpCmdSN, MaxCmdSN] are ignored, and MaxCmdSN opens as commands complete.
 */
import { snAdd, snLessThan } from './constants';

export type Deliver<T> = (item: T) => void;

export class CmdSnWindow<T> {
  expCmdSn: number;
  private inFlight = 0;
  private readonly held = new Map<number, T>();

  constructor(initialCmdSn: number, readonly depth: number, private readonly deliver: Deliver<T>) {
    this.expCmdSn = initialCmdSn >>> 0;
  }

  get maxCmdSn(): number {
    return snAdd(this.expCmdSn, Math.max(0, this.depth - this.inFlight) - 1);
  }

  /** True when `cmdSn` may be accepted now or later (inside the window). */
  inWindow(cmdSn: number): boolean {
    return !snLessThan(cmdSn, this.expCmdSn) && !snLessThan(this.maxCmdSn, cmdSn);
  }

  /**
   * Offers a non-immediate command. Returns false (and does nothing) when it is outside the window
   * or a duplicate; the caller ignores such commands as RFC 7143 requires.
   */
  offer(cmdSn: number, item: T): boolean {
    if (!this.inWindow(cmdSn) || this.held.has(cmdSn)) return false;
    this.held.set(cmdSn, item);
    while (this.held.has(this.expCmdSn)) {
      const next = this.held.get(this.expCmdSn)!;
      this.held.delete(this.expCmdSn);
      this.expCmdSn = snAdd(this.expCmdSn, 1);
      this.inFlight++;
      this.deliver(next);
    }
    return true;
  }

  /** A delivered command finished: the window opens by one. */
  completed(): void {
    if (this.inFlight > 0) this.inFlight--;
  }

  /** Marks `cmdSn` as received without a command (ABORT TASK for a command not yet seen). */
  consume(cmdSn: number): void {
    if (this.inWindow(cmdSn) && !this.held.has(cmdSn)) this.held.set(cmdSn, null as unknown as T);
    while (this.held.has(this.expCmdSn)) {
      const next = this.held.get(this.expCmdSn);
      this.held.delete(this.expCmdSn);
      this.expCmdSn = snAdd(this.expCmdSn, 1);
      if (next !== null) {
        this.inFlight++;
        this.deliver(next as T);
      }
    }
  }
}
