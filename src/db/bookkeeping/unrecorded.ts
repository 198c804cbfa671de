import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Engine } from '../engine.js';
import { Run } from './models.js';
import { StoppedWhileWaiting, type StopRequest } from '../sqlite-lock.js';
import { toDb } from '../values.js';

/**
 * Runs whose start could not be written to `corral_runs`, recorded all the same.
 *
 * A run writes its `corral_runs` row first, and on SQLite that needs the file's
 * write lock. When the lock never comes (another process holds it past the busy
 * timeout) or a signal stops the run while it waits, nothing ran, yet an operator
 * asks "why did nothing happen at 03:00?". Such a run is written when it ends, as
 * one finished row, if the lock can be had at once; otherwise (the lock is still
 * held: a stopped run must exit at once) it is written as a small JSON file in a
 * folder beside the database, `<file>-corral-runs/`, which `runs` reads with the
 * table and which the next run that gets the lock moves into the table. The
 * pipeline's tables are untouched until then.
 */

/** A run that ended before its `corral_runs` row could be written. */
export interface UnrecordedRun {
  readonly processor: string;
  readonly kind: string;
  readonly host: string;
  readonly pid: number;
  readonly partition: string | null;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly status: string;
  readonly rowsDone: number;
  readonly rowsFailed: number;
  readonly error: string | null;
}

/** The status of a run that never began its work: stopped by a signal while waiting for the write lock, or it could not start. */
export function unstartedStatus(cause: unknown): 'stopped-waiting' | 'not-started' {
  return cause instanceof StoppedWhileWaiting ? 'stopped-waiting' : 'not-started';
}

/** The spool folder of a SQLite file database; undefined for PostgreSQL and `:memory:`. */
export function spoolOf(engine: Engine): string | undefined {
  if (engine.dialect !== 'sqlite') return undefined;
  const file = (engine.knex.client.config.connection as { filename?: string } | undefined)?.filename;
  return file && file !== ':memory:' ? `${path.resolve(file)}-corral-runs` : undefined;
}

function rowOf(run: UnrecordedRun, engine: Engine): Record<string, unknown> {
  const time = (iso: string) => toDb(Run.columns.started_at.spec, new Date(iso), engine.dialect);
  return {
    processor: run.processor,
    kind: run.kind,
    host: run.host,
    pid: run.pid,
    partition: run.partition,
    started_at: time(run.startedAt),
    heartbeat_at: time(run.endedAt),
    ended_at: time(run.endedAt),
    status: run.status,
    rows_done: run.rowsDone,
    rows_failed: run.rowsFailed,
    in_flight: 0,
    error: run.error,
  };
}

let spooled = 0;

/**
 * Records a run whose start was never written: in the table when the lock comes at
 * once, else in the spool folder.
 * Never throws: this is bookkeeping of a run that is over.
 */
export async function recordUnstarted(engine: Engine, run: Omit<UnrecordedRun, 'host' | 'pid' | 'endedAt'>, logger: Logger): Promise<void> {
  const full: UnrecordedRun = { ...run, host: os.hostname(), pid: process.pid, endedAt: new Date().toISOString() };
  // One try for the lock, not a wait: the run is stopping, or already waited the busy timeout.
  const once: StopRequest = { requested: true };
  try {
    await engine.autocommit((db) => db(Run.table).insert(rowOf(full, engine)), once);
    return;
  } catch (error) {
    const spool = spoolOf(engine);
    if (!spool) {
      logger.warn(`Could not record the run in corral_runs: ${describeError(error)}`);
      return;
    }
    try {
      fs.mkdirSync(spool, { recursive: true });
      const file = path.join(spool, `${process.pid}-${Date.now()}-${++spooled}.json`);
      // Written beside and renamed: a reader never sees half a record.
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(full));
      fs.renameSync(`${file}.tmp`, file);
    } catch (spoolError) {
      logger.warn(`Could not record the run in corral_runs (${describeError(error)}) nor beside the database: ${describeError(spoolError)}`);
    }
  }
}

/** The runs waiting in the spool folder (none on PostgreSQL), for `runs`. */
export function spooledRuns(engine: Engine): UnrecordedRun[] {
  const spool = spoolOf(engine);
  if (!spool || !fs.existsSync(spool)) return [];
  const runs: UnrecordedRun[] = [];
  for (const name of fs.readdirSync(spool)) {
    if (!name.endsWith('.json')) continue;
    try {
      runs.push(JSON.parse(fs.readFileSync(path.join(spool, name), 'utf8')) as UnrecordedRun);
    } catch {
      // Taken into the table meanwhile, or not a record of ours.
    }
  }
  return runs;
}

/**
 * Moves the spooled runs into `corral_runs`; called by a run that holds its row, so
 * the lock is to be had. Each file is claimed by a rename first (two runs starting
 * together take each record once), inserted, then removed after the commit; a
 * failed insert puts the claimed files back.
 */
export async function moveSpooledRuns(engine: Engine, stop?: StopRequest): Promise<number> {
  const spool = spoolOf(engine);
  if (!spool || !fs.existsSync(spool)) return 0;
  const claimed: { file: string; run: UnrecordedRun }[] = [];
  for (const name of fs.readdirSync(spool)) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(spool, name);
    const mine = `${file}.${process.pid}.claimed`;
    try {
      fs.renameSync(file, mine);
      claimed.push({ file: mine, run: JSON.parse(fs.readFileSync(mine, 'utf8')) as UnrecordedRun });
    } catch {
      // Another process claimed it first.
    }
  }
  if (claimed.length === 0) return 0;
  try {
    await engine.autocommit((db) => db(Run.table).insert(claimed.map((c) => rowOf(c.run, engine))), stop);
  } catch (error) {
    for (const { file } of claimed) fs.renameSync(file, file.replace(/\.\d+\.claimed$/, ''));
    throw error;
  }
  for (const { file } of claimed) fs.rmSync(file, { force: true });
  try {
    fs.rmdirSync(spool);
  } catch {
    // Not empty: another run spooled one meanwhile.
  }
  return claimed.length;
}
