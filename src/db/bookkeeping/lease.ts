/**
 * The lease (PostgreSQL): a running worker whose heartbeat in `corral_runs` is older
 * than `leaseSeconds`, judged by the server's clock, is frozen, cut off or gone.
 * Whoever notices (a new run, `status`, a live worker's heartbeat thread) ends every
 * session named after it (`application_name`, db/session.ts) with pg_terminate_backend,
 * which rolls its chunk back and frees its locked rows, and marks its run `dead`.
 *
 * The SQL runs through a plain query function so that the heartbeat thread, which has
 * its own pg client and none of knex, runs exactly the same code. Only type imports
 * here, and runs-columns.ts, which has only type imports itself: the thread loads this module.
 */
import type { Knex } from 'knex';
import type { Logger } from '../../core/logger.js';
import type { Engine } from '../engine.js';
import { runsHaveColumn } from './runs-columns.js';

/** One statement, `?` placeholders, its rows. */
export type Sql = (text: string, values: readonly unknown[]) => Promise<Record<string, unknown>[]>;

/** A run whose lease expired and whose sessions were ended. */
export interface EndedWorker {
  readonly id: number;
  readonly processor: string;
  readonly host: string;
  readonly pid: number;
  readonly partition: string | null;
  /** Sessions of it that were still connected and were terminated. */
  readonly sessions: number;
}

export interface StaleOutcome {
  readonly ended: EndedWorker[];
  /** Set when the server refused to end a stale worker's sessions: what to do about it. */
  readonly refused?: string;
}

/** Waiting for an ended backend to go (it releases its locks as it exits) takes milliseconds; never wait forever. */
const GONE_WAIT_MS = 5000;

/** What a dead run's `error` says. */
export function leaseExpiredMessage(leaseSeconds: number): string {
  return `lease expired: no heartbeat for more than ${leaseSeconds} s (frozen, cut off or gone); its sessions were ended and its chunk rolled back`;
}

export function describeWorker(w: { processor: string; host: string; pid: number; id: number; partition: string | null }): string {
  return `${w.processor}${w.partition ? ` (rows ${w.partition})` : ''} on ${w.host}, pid ${w.pid}, run #${w.id}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Ends the workers whose heartbeat is older than the lease. Each stale run is first
 * claimed (`running` → `dead` in one UPDATE, so two noticers never act on the same
 * one and staleness is judged once, by the server), then its sessions are terminated
 * and waited for. Without the right to terminate them the claim is undone, so the
 * next noticer tries again once the right is granted. `ownSession` is never ended.
 */
export async function endStaleWorkersWith(sql: Sql, leaseSeconds: number, ownSession = ''): Promise<StaleOutcome> {
  const claimed = await sql(
    `UPDATE corral_runs SET status = 'dead', ended_at = now(), error = ?
      WHERE status = 'running' AND session IS NOT NULL AND session <> ? AND heartbeat_at < now() - make_interval(secs => ?)
      RETURNING id, processor, host, pid, partition, session`,
    [leaseExpiredMessage(leaseSeconds), ownSession, leaseSeconds],
  );
  const ended: EndedWorker[] = [];
  for (const row of claimed) {
    const worker = {
      id: Number(row.id),
      processor: String(row.processor),
      host: String(row.host),
      pid: Number(row.pid),
      partition: row.partition === null || row.partition === undefined ? null : String(row.partition),
    };
    const session = String(row.session);
    let sessions: number;
    try {
      const terminated = await sql('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = ? AND pid <> pg_backend_pid()', [session]);
      sessions = terminated.length;
    } catch (error) {
      // Give the run back to `running` (its error cleared), so it stays visible as stale.
      await sql(`UPDATE corral_runs SET status = 'running', ended_at = NULL, error = NULL WHERE id = ? AND status = 'dead'`, [worker.id]);
      if ((error as { code?: string }).code !== '42501') throw error;
      const [who] = await sql('SELECT current_user AS name', []);
      return {
        ended,
        refused:
          `Cannot end the stale worker ${describeWorker(worker)}, whose rows stay locked: ${(error as Error).message}. ` +
          `Let the database user of the workers end each other's sessions (GRANT pg_signal_backend TO ${String(who?.name)}; a superuser's sessions need a superuser), or run every worker as the same database user`,
      };
    }
    // pg_terminate_backend only signals: wait until the backends are gone, and their locks with them.
    const until = Date.now() + GONE_WAIT_MS;
    for (;;) {
      const [left] = await sql('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = ? AND pid <> pg_backend_pid()', [session]);
      if (Number(left?.n ?? 0) === 0 || Date.now() > until) break;
      await sleep(20);
    }
    ended.push({ ...worker, sessions });
  }
  return { ended };
}

/**
 * Whether `corral_runs` has its `session` column: a database created by an older
 * corral lacks it until `createdb` adds it. Asked once per engine (runs-columns.ts).
 */
export function runsHaveSession(engine: Engine): Promise<boolean> {
  return runsHaveColumn(engine, 'session');
}

const warned = new Set<string>();

/** Logs `message` once per process: the same advice on every run would only be noise. */
export function warnOnce(logger: Logger, message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  logger.warn(message);
}

/** The log line of an ended worker. */
export function endedMessage(worker: EndedWorker, leaseSeconds: number): string {
  return `Ended stale worker ${describeWorker(worker)}: no heartbeat for more than ${leaseSeconds} s; ${worker.sessions} session(s) terminated, its chunk rolled back and its rows freed`;
}

/**
 * `endStaleWorkersWith` on the engine's own connection, logged; nothing on SQLite (the
 * OS releases a dead process's file lock, and a live one cannot be stopped from outside)
 * or on a database without the `session` column. Never throws: it is housekeeping.
 */
export async function endStaleWorkers(engine: Engine, leaseSeconds: number, logger: Logger): Promise<EndedWorker[]> {
  const { session } = engine;
  if (!session) return [];
  try {
    if (!(await runsHaveSession(engine))) return [];
    const sql: Sql = async (text, values) => ((await engine.knex.raw(text, values as readonly Knex.RawBinding[])) as { rows: Record<string, unknown>[] }).rows;
    const outcome = await endStaleWorkersWith(sql, leaseSeconds, session.name);
    for (const worker of outcome.ended) logger.warn(endedMessage(worker, leaseSeconds));
    if (outcome.refused) warnOnce(logger, outcome.refused);
    return outcome.ended;
  } catch (error) {
    logger.warn(`Could not check corral_runs for stale workers: ${(error as Error).message}`);
    return [];
  }
}
