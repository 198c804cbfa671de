/**
 * A lost connection is nobody's row. When the database session goes away (a server
 * restart, a network error, `pg_terminate_backend`, the lease) or a transaction loses
 * a race (deadlock, serialization failure, SQLite busy), the loops roll back, blame
 * no row, wait, and do the same work again on a fresh connection (knex's pool drops a
 * connection whose socket errored or ended, and opens a new one on the next acquire).
 *
 * The wait starts at 0.25 s and doubles up to 8 s; when `reconnectSeconds` (default
 * 120 s) have gone by since the first loss without a success, the processor stops
 * with one line naming the database and the cause.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CorralError, ProcessorError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { blameOf } from '../db/blame.js';

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 8000;

/** Whether an error is a lost connection or a lost race: redo the work, blame nobody. */
export function isTransient(error: unknown): boolean {
  const blame = blameOf(error);
  return blame === 'connection' || blame === 'retry';
}

/** The database stayed out of reach for longer than `reconnectSeconds`. */
export class DatabaseUnreachable extends CorralError {
  constructor(message: string, cause: unknown) {
    super(message, {
      code: 'CORRAL_DB_UNREACHABLE',
      cause,
      hint: 'No row was blamed and the chunk in flight was rolled back: check the database server and the network, then run again.',
    });
  }
}

/** The one line a processor stops with when its database stayed out of reach: `MyStep lost its connection to …`. */
export class ProcessorLostDatabase extends ProcessorError {
  constructor(processor: string, cause: DatabaseUnreachable) {
    super(processor, cause);
    this.message = `${processor} ${cause.message}`;
  }
}

/** The backoff of one processor run: how many losses in a row, since when. */
export class Reconnect {
  private readonly label: string;
  private readonly limitMs: number;
  private readonly logger: Logger;
  private losses = 0;
  private since = 0;
  private gaveUp = false;

  constructor(label: string, reconnectSeconds: number, logger: Logger) {
    this.label = label;
    this.limitMs = reconnectSeconds * 1000;
    this.logger = logger;
  }

  /** The work went through: the next loss starts a new backoff. */
  succeeded(): void {
    this.losses = 0;
  }

  /**
   * After a transient error (`isTransient`): waits before the next try, or throws
   * DatabaseUnreachable when the time is up.
   */
  async backOff(error: unknown, note = 'the chunk was rolled back and no row is blamed'): Promise<void> {
    const now = Date.now();
    if (this.losses === 0) this.since = now;
    this.losses += 1;
    const delay = Math.min(FIRST_DELAY_MS * 2 ** (this.losses - 1), MAX_DELAY_MS);
    const elapsed = now - this.since;
    const what = blameOf(error) === 'retry' ? `kept failing on ${this.label}` : `lost its connection to ${this.label}`;
    if (this.gaveUp || elapsed + delay > this.limitMs) {
      this.gaveUp = true;
      throw new DatabaseUnreachable(`${what}: ${describeError(error)} (gave up after ${this.losses} attempts in ${Math.round(elapsed / 1000)} s)`, error);
    }
    this.logger.warn(`${what[0]!.toUpperCase()}${what.slice(1)}: ${describeError(error)}; ${note}; trying again in ${delay / 1000} s`);
    await sleep(delay);
  }

  /** Runs `work` until it goes through, backing off after each transient error (bookkeeping, setup, teardown). */
  async run<T>(work: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const result = await work();
        this.succeeded();
        return result;
      } catch (error) {
        if (this.gaveUp || !isTransient(error)) throw error;
        await this.backOff(error, 'nothing was written');
      }
    }
  }
}
