import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { CorralError, DBError } from '../core/errors.js';
import { processAlive } from '../core/process-alive.js';

/**
 * SQLite's write lock, taken in JavaScript and taken fairly.
 *
 * Why not SQLite's busy handler: it sleeps inside the C call, so the Node thread is
 * blocked (signals, timers and IPC wait), and a writer that commits and begins again
 * at once nearly always wins against a waiter asleep in it: commands beside a long
 * step waited until they failed. Here `BEGIN IMMEDIATE` is tried with a short busy
 * timeout (`ATTEMPT_MS`, set on the connection), and between tries the event loop
 * turns and the stop flag is read.
 *
 * Fairness across processes, by turns of lock time: a waiter puts an entry in a folder
 * beside the database (`<file>-corral-queue/<pid>-<n>`) while it waits. A process
 * whose turn has lasted `TURN_MS` (since it last got the lock after waiting or letting
 * others in) looks at that folder before it begins (at most once per `LOOK_EVERY_MS`:
 * one readdir, nothing per row) and, when others wait, lets them in first: it waits
 * until the entries it saw are gone (each waiter removes its entry when it gets the
 * lock) or `YIELD_MAX_MS` passed. So a step with long chunks lets a waiter in after
 * its chunk in flight, and a process of many short transactions (an alert's rows)
 * gets a turn of `TURN_MS` rather than one transaction per chunk of the other. A
 * process that got the lock after waiting says so in `<file>-corral-turn` (its pid and
 * the end of its turn); waiters do not try to take the lock in the gaps between its
 * transactions until then (an expired or dead owner's file is ignored and removed).
 * Entries of dead processes are ignored and removed, and so are entries not touched
 * for `STALE_MS` (a waiter touches its entry every `TOUCH_MS`), so a kill -9 of
 * anyone never blocks the others. The folder is removed when the last waiter leaves.
 */

/** The connection's busy timeout: how long one try blocks in C (also for statements outside corral's transactions). */
export const ATTEMPT_MS = 50;
/** Pause between two tries; the event loop turns meanwhile. */
const PAUSE_MS = 10;
/** A turn: how long a process may go on beginning transactions before it looks for waiters. */
const TURN_MS = 200;
/** A turn whose owner began nothing for this long is left to the waiters (see `turnIdle`). */
const TURN_IDLE_MS = 25;
/** A process that begins often looks for waiters at most this often. */
const LOOK_EVERY_MS = 20;
/** The longest a process holds back for the waiters it saw. */
const YIELD_MAX_MS = 500;
const TOUCH_MS = 2_000;
const STALE_MS = 15_000;

/** What a wait for the lock honours: a stop asked by a signal. */
export interface StopRequest {
  readonly requested: boolean;
}

/** A stop was asked while waiting for the lock: nothing was begun. Loops end as `stopped`. */
export class StoppedWhileWaiting extends CorralError {
  constructor(label: string) {
    super(`Stopped while waiting for the write lock of ${label}`, { code: 'CORRAL_STOPPED', exitCode: 130 });
  }
}

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

let entries = 0;
/** Turn files this process announced, removed when it exits. */
const turnFiles = new Set<string>();
process.once('exit', () => {
  for (const file of turnFiles) fs.rmSync(file, { force: true });
});

export class SqliteWriteLock {
  private readonly raw: BetterSqlite3.Database;
  private readonly queue: string | undefined;
  private readonly label: string;
  private readonly boundMs: number;
  private beginImmediate: BetterSqlite3.Statement | undefined;
  private lastLook = 0;
  /** When this process last got the lock after waiting or letting others in. */
  private turnStarted = 0;
  private readonly turnFile: string | undefined;
  /** The end of the turn this process announced in turnFile, or 0. */
  private turnAnnounced = 0;

  /** @internal `file` undefined (`:memory:`): no other process can share the database, no queue. */
  constructor(raw: BetterSqlite3.Database, file: string | undefined, label: string, boundMs: number) {
    this.raw = raw;
    this.queue = file ? `${file}-corral-queue` : undefined;
    this.turnFile = file ? `${file}-corral-turn` : undefined;
    this.label = label;
    this.boundMs = boundMs;
  }

  /**
   * `BEGIN IMMEDIATE`, after the processes already waiting had their turn. Waits with
   * the event loop turning; throws `StoppedWhileWaiting` when `stop` is asked meanwhile,
   * and a DBError naming the database after the bound.
   */
  async begin(stop?: StopRequest): Promise<void> {
    if (this.queue) {
      const now = Date.now();
      if (this.turnAnnounced && now > this.turnAnnounced) this.endTurn();
      // Still using its turn: waiters leave a turn alone only while its owner keeps beginning.
      else if (this.turnAnnounced) this.touchTurn(now);
      if (now - this.turnStarted >= TURN_MS && now - this.lastLook >= LOOK_EVERY_MS) {
        this.lastLook = now;
        const waiting = this.waiters();
        if (waiting.length > 0) {
          await this.letIn(waiting);
          // Those let in now have their turn: wait for it like any waiter.
          await this.wait(stop);
          return;
        }
      }
    }
    if (this.tryBegin()) return;
    await this.wait(stop);
  }

  /**
   * A statement outside corral's transactions (a knex query in `shell` or `exec`):
   * when it finds the database locked, it is tried again after a pause, so a user's
   * write waits its turn without blocking the thread.
   */
  async retryWhileBusy<T>(run: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.boundMs;
    for (;;) {
      try {
        return await run();
      } catch (error) {
        if (!isBusy(error) || this.raw.inTransaction || Date.now() > deadline) throw error;
        await sleep(PAUSE_MS);
      }
    }
  }

  private tryBegin(): boolean {
    try {
      // Prepared once: an alert begins a transaction per row (its crash bound).
      (this.beginImmediate ??= this.raw.prepare('BEGIN IMMEDIATE')).run();
      return true;
    } catch (error) {
      if (isBusy(error)) return false;
      throw error;
    }
  }

  private async wait(stop: StopRequest | undefined): Promise<void> {
    const deadline = Date.now() + this.boundMs;
    const entry = this.enqueue();
    let touched = Date.now();
    try {
      for (;;) {
        await sleep(PAUSE_MS);
        if (stop?.requested) throw new StoppedWhileWaiting(this.label);
        if (!this.othersTurn() && this.tryBegin()) {
          this.startTurn();
          return;
        }
        const now = Date.now();
        if (now > deadline) {
          throw new DBError(`The SQLite database ${this.label} stayed locked for ${Math.round(this.boundMs / 1000)} s: another process held its write lock all that time`, {
            hint: 'Find the process that holds it (a shell or dbshell with uncommitted writes, a sqlite3 session, a program outside corral) and let it commit or stop it, then run again.',
          });
        }
        if (entry && now - touched > TOUCH_MS) {
          touched = now;
          touch(entry);
        }
      }
    } finally {
      if (entry) this.dequeue(entry);
    }
  }

  /** Got the lock after waiting: a turn of TURN_MS, announced so that waiters leave its gaps alone. */
  private startTurn(): void {
    this.turnStarted = Date.now();
    if (!this.turnFile) return;
    this.turnAnnounced = this.turnStarted + TURN_MS;
    try {
      fs.writeFileSync(this.turnFile, `${process.pid} ${this.turnAnnounced}`);
      turnFiles.add(this.turnFile);
    } catch {
      this.turnAnnounced = 0;
    }
  }

  private touchTurn(now: number): void {
    try {
      fs.utimesSync(this.turnFile!, now / 1000, now / 1000);
    } catch {
      // Removed by a waiter that judged it expired: the turn simply ends.
    }
  }

  /**
   * The owner of the turn has begun nothing for TURN_IDLE_MS: it is working outside the
   * database (a worker loading, a step between short chunks) or done, so waiting for it
   * would leave the lock idle (ten small workers forked at once then took turns of
   * 200 ms each). Its next begin takes its place in line again.
   */
  private turnIdle(): boolean {
    try {
      return Date.now() - fs.statSync(this.turnFile!).mtimeMs > TURN_IDLE_MS;
    } catch {
      return true;
    }
  }

  private endTurn(): void {
    this.turnAnnounced = 0;
    fs.rmSync(this.turnFile!, { force: true });
    turnFiles.delete(this.turnFile!);
  }

  /** Another live process is in its turn. */
  private othersTurn(): boolean {
    if (!this.turnFile) return false;
    let text: string;
    try {
      text = fs.readFileSync(this.turnFile, 'utf8');
    } catch {
      return false;
    }
    const [pid, until] = text.split(' ').map(Number);
    if (pid === process.pid) return false;
    if (pid && until && Date.now() < until && processAlive(pid)) return !this.turnIdle();
    if (pid && until) fs.rmSync(this.turnFile, { force: true });
    return false;
  }

  /** Holds back until the waiters seen are gone (they got the lock) or YIELD_MAX_MS passed. */
  private async letIn(waiting: readonly string[]): Promise<void> {
    const until = Date.now() + YIELD_MAX_MS;
    let left = waiting;
    while (left.length > 0 && Date.now() < until) {
      await sleep(PAUSE_MS / 2);
      const now = new Set(this.waiters());
      left = left.filter((name) => now.has(name));
    }
  }

  /** The live waiters' entries, other than this process's own; stale ones are removed. */
  private waiters(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.queue!);
    } catch {
      return [];
    }
    const live: string[] = [];
    for (const name of names) {
      if (!/^\d+-\d+$/.test(name)) continue;
      const pid = Number(name.split('-')[0]);
      if (pid === process.pid) continue;
      if (processAlive(pid) && fresh(path.join(this.queue!, name))) live.push(name);
      else fs.rmSync(path.join(this.queue!, name), { force: true });
    }
    return live;
  }

  /** Best effort: without a writable folder the wait is still bounded and stoppable, only not ordered. */
  private enqueue(): string | undefined {
    if (!this.queue) return undefined;
    const entry = path.join(this.queue, `${process.pid}-${++entries}`);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.mkdirSync(this.queue, { recursive: true });
        fs.writeFileSync(entry, '');
        return entry;
      } catch {
        // The folder was removed by a waiter leaving in between: make it again.
      }
    }
    return undefined;
  }

  private dequeue(entry: string): void {
    fs.rmSync(entry, { force: true });
    try {
      fs.rmdirSync(this.queue!);
    } catch {
      // Others are waiting (ENOTEMPTY), or it is gone already.
    }
  }
}

/** A process whose pid was reused would never remove the entry: an entry not touched lately is stale. */
function fresh(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs < STALE_MS;
  } catch {
    return false;
  }
}

function touch(file: string): void {
  try {
    const now = new Date();
    fs.utimesSync(file, now, now);
  } catch {
    // Removed as stale by another process: it will be seen as not waiting, which only costs order.
  }
}
