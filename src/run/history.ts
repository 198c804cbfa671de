import os from 'node:os';
import type { Engine } from '../db/engine.js';
import { StoppedWhileWaiting, type StopRequest } from '../db/sqlite-lock.js';
import { Run } from '../db/framework-models.js';
import { toDb } from '../db/values.js';

export type RunStatus = 'running' | 'ok' | 'failed' | 'stopped';

/**
 * The `corral_runs` row of one processor run. Bookkeeping only: written in
 * transactions of its own, never inside a chunk, and a failure to write it is
 * logged by the caller rather than failing the work.
 */
const HEARTBEAT_MS = 1000;

export class RunRecord {
  private readonly engine: Engine;
  private id: number | undefined;
  private lastBeat = 0;

  private constructor(engine: Engine) {
    this.engine = engine;
  }

  /** A stop asked while this waits for SQLite's lock ends the wait: the run is then not recorded (nothing ran). */
  static async start(engine: Engine, processor: string, kind: string, partition: string | undefined, stop?: StopRequest): Promise<RunRecord> {
    const record = new RunRecord(engine);
    const now = record.time(new Date());
    await engine.autocommit(async (db) => {
      const [row] = (await db(Run.table)
        .insert({ processor, kind, host: os.hostname(), pid: process.pid, partition: partition ?? null, started_at: now, heartbeat_at: now, status: 'running', rows_done: 0, rows_failed: 0, in_flight: 0 })
        .returning('id')) as ({ id: number } | number)[];
      record.id = typeof row === 'object' ? row.id : row;
    }, stop);
    return record;
  }

  /** Before each chunk: progress so far, the size of the chunk starting, and a heartbeat. */
  async beat(rowsDone: number, rowsFailed: number, inFlight: number, stop?: StopRequest): Promise<void> {
    if (this.id === undefined) return;
    // A heartbeat a second is plenty against a lease of minutes, and spares a write per chunk.
    const now = Date.now();
    if (now - this.lastBeat < HEARTBEAT_MS) return;
    this.lastBeat = now;
    try {
      await this.engine.autocommit(
        (db) => db(Run.table).where({ id: this.id }).update({ rows_done: rowsDone, rows_failed: rowsFailed, in_flight: inFlight, heartbeat_at: this.time(new Date()) }),
        stop,
      );
    } catch (error) {
      // Stopping: the loop ends next, and `finish` writes the last state.
      if (!(error instanceof StoppedWhileWaiting)) throw error;
    }
  }

  async finish(status: RunStatus, rowsDone: number, rowsFailed: number, error?: string): Promise<void> {
    if (this.id === undefined) return;
    const now = this.time(new Date());
    await this.engine.autocommit((db) =>
      db(Run.table)
        .where({ id: this.id })
        .update({ status, rows_done: rowsDone, rows_failed: rowsFailed, in_flight: 0, ended_at: now, heartbeat_at: now, error: error ?? null }),
    );
  }

  private time(date: Date): unknown {
    return toDb(Run.columns.started_at.spec, date, this.engine.dialect);
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
  const now = toDb(Run.columns.started_at.spec, new Date(), engine.dialect);
  return engine.autocommit(
    async (db) =>
      (await db(Run.table)
        .where(mine)
        .update({ status, in_flight: 0, ended_at: now, error })) as number,
    stop,
  );
}
