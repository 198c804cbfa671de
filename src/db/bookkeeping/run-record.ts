import os from 'node:os';
import type { Logger } from '../../core/logger.js';
import type { Engine } from '../engine.js';
import { StoppedWhileWaiting, type StopRequest } from '../sqlite-lock.js';
import { Run } from './models.js';
import { endStaleWorkers, runsHaveSession, warnOnce } from './lease.js';
import { runsHaveWrote, wroteValue } from './wrote.js';

/** `dead`: its heartbeat stopped for longer than the lease, and another process ended its sessions (lease.ts). */
export type RunStatus = 'running' | 'ok' | 'failed' | 'stopped' | 'dead';

/** Progress between chunks, at most once a second: it spares a write per chunk. */
const PROGRESS_MS = 1000;

/** Something running beside the run that its end stops (the heartbeat thread, run/heartbeat.ts). */
export interface Stoppable {
  stop(): void;
}

export interface RunRecordOptions {
  readonly leaseSeconds: number;
  readonly logger: Logger;
  /** Starts the run's heartbeat once its row exists (sessions that can be ended only: PostgreSQL). */
  readonly heartbeat?: (runId: number) => Stoppable | undefined;
}

/**
 * The `corral_runs` row of one processor run. Bookkeeping only: written in
 * transactions of its own, never inside a chunk, and a failure to write it is
 * logged by the caller rather than failing the work.
 *
 * On PostgreSQL the heartbeat is written by a thread of its own (heartbeat.ts) with
 * the server's clock, and the run's sessions carry the engine's name (`session`), so
 * that whoever finds its heartbeat older than the lease can end them (lease.ts).
 * Progress (rows done, in flight) is written here between chunks, on both databases.
 */

export class RunRecord {
  private readonly engine: Engine;
  private id: number | undefined;
  private lastBeat = 0;
  private thread: Stoppable | undefined;

  private constructor(engine: Engine) {
    this.engine = engine;
  }

  /** A stop asked while this waits for SQLite's lock ends the wait: the run is then not recorded (nothing ran). */
  static async start(engine: Engine, processor: string, kind: string, partition: string | undefined, options?: RunRecordOptions, stop?: StopRequest): Promise<RunRecord> {
    const record = new RunRecord(engine);
    // Sessions that can be ended (PostgreSQL's): a stale worker's locked rows would be skipped by this run, so free them first.
    const { session } = engine;
    if (session && options) await endStaleWorkers(engine, options.leaseSeconds, options.logger);
    const sessionColumn = session ? await record.sessionColumn(session.name, options?.logger) : {};
    const now = record.now();
    await engine.autocommit(async (db) => {
      const [row] = (await db(Run.table)
        .insert({ processor, kind, host: os.hostname(), pid: process.pid, partition: partition ?? null, started_at: now, heartbeat_at: now, status: 'running', rows_done: 0, rows_failed: 0, in_flight: 0, ...sessionColumn })
        .returning('id')) as ({ id: number } | number)[];
      record.id = typeof row === 'object' ? row.id : row;
    }, stop);
    if (session && options?.heartbeat && record.id !== undefined) record.thread = options.heartbeat(record.id);
    return record;
  }

  /** `{ session }` to insert, or nothing on a database created before the column existed (said once). */
  private async sessionColumn(name: string, logger: Logger | undefined): Promise<{ session?: string }> {
    if (await runsHaveSession(this.engine)) return { session: name };
    if (logger) {
      warnOnce(
        logger,
        "corral_runs has no column 'session' (the database was created by an older corral): runs are recorded without it, and if this worker stops responding no other process can end its sessions. Run `node in_corral.js createdb` to add the column.",
      );
    }
    return {};
  }

  /** Before each chunk: progress so far, the size of the chunk starting, and a heartbeat. */
  async beat(rowsDone: number, rowsFailed: number, inFlight: number, stop?: StopRequest): Promise<void> {
    if (this.id === undefined) return;
    const now = Date.now();
    if (now - this.lastBeat < PROGRESS_MS) return;
    this.lastBeat = now;
    try {
      await this.engine.autocommit(
        (db) => db(Run.table).where({ id: this.id }).update({ rows_done: rowsDone, rows_failed: rowsFailed, in_flight: inFlight, heartbeat_at: this.now() }),
        stop,
      );
    } catch (error) {
      // Stopping: the loop ends next, and `finish` writes the last state.
      if (!(error instanceof StoppedWhileWaiting)) throw error;
    }
  }

  /** `wrote`: the tables the run wrote (lineage), kept when the database has the column. */
  async finish(status: RunStatus, rowsDone: number, rowsFailed: number, error?: string, wrote: readonly string[] = []): Promise<void> {
    this.thread?.stop();
    this.thread = undefined;
    if (this.id === undefined) return;
    const now = this.now();
    const tables = wrote.length > 0 && (await runsHaveWrote(this.engine)) ? { wrote: wroteValue(wrote) } : {};
    const updated = await this.engine.autocommit((db) =>
      db(Run.table)
        .where({ id: this.id, status: 'running' })
        .update({ status, rows_done: rowsDone, rows_failed: rowsFailed, in_flight: 0, ended_at: now, heartbeat_at: now, error: error ?? null, ...tables }),
    );
    // Declared dead by another process meanwhile (lease.ts): keep that verdict and its reason, add the counts.
    if (Number(updated) === 0) {
      await this.engine.autocommit((db) => db(Run.table).where({ id: this.id }).update({ rows_done: rowsDone, rows_failed: rowsFailed, in_flight: 0, ...tables }));
    }
  }

  /** Now, by the server's clock on PostgreSQL (machines' clocks may differ; the lease is judged by the server). */
  private now(): unknown {
    return this.engine.store.now(Run.columns.started_at.spec);
  }
}

/**
 * Ends the `running` rows of a process of this host that died without ending them
 * (SIGKILLed by the runner, crashed): `stopped` or `failed`, so that no row stays
 * `running`. Returns how many rows it ended.
 */
export async function endRunsOf(engine: Engine, pid: number, status: 'stopped' | 'failed', error: string, stop?: StopRequest): Promise<number> {
  const mine = { host: os.hostname(), pid, status: 'running' };
  // A read first (no lock on SQLite): most processes that die have nothing left running.
  const [found] = (await engine.knex(Run.table).where(mine).count({ n: '*' })) as { n: number | string }[];
  if (Number(found?.n ?? 0) === 0) return 0;
  const now = engine.store.value(Run.columns.started_at.spec, new Date());
  return engine.autocommit(
    async (db) =>
      (await db(Run.table)
        .where(mine)
        .update({ status, in_flight: 0, ended_at: now, error })) as number,
    stop,
  );
}
