/**
 * What the status page shows, read with short queries that never block a writer:
 * on SQLite plain reads (WAL readers; corral's write lock is never taken), on
 * PostgreSQL statements under a timeout (read-engine.ts). Unlike `status`, nothing
 * here ends a stale worker: the page only shows them.
 */
import { redactSecrets } from '../core/redact.js';
import type { ResolvedSettings } from '../conf/settings.js';
import type { Engine } from '../db/engine.js';
import { Failure, Run } from '../db/bookkeeping/models.js';
import { outcomeOf } from '../db/bookkeeping/run-list.js';
import { fromDb, toDb } from '../db/values.js';
import { kindOf, type ProcessorKind } from '../run/processor-class.js';
import type { ProcessorClass } from '../processors/processor.js';
import { allProcessors, type Registry } from '../run/registry.js';
import { backlogOf, processGone } from '../run/status.js';

export interface RunView {
  readonly id: number;
  readonly processor: string;
  readonly kind: string;
  readonly status: string;
  readonly rows: number;
  readonly failedRows: number;
  readonly inFlight: number;
  readonly startedAt: string;
  readonly endedAt: string | null;
  /** Seconds from start to end (or to the last heartbeat while running). */
  readonly seconds: number | null;
  readonly host: string;
  readonly pid: number;
  readonly partition: string | null;
  readonly error: string | null;
}

export interface ProcessorView {
  readonly name: string;
  readonly kind: ProcessorKind;
  /** Rows matching its conditions now (not backing off, quarantined or alerted); null for the loader. */
  readonly backlog: number | null;
  /** Workers marked running whose heartbeat is within the lease and whose process is there. */
  readonly running: number;
  /** Rows in the chunks those workers hold. */
  readonly inFlight: number;
  /** Running, but no heartbeat for longer than the lease. */
  readonly staleWorkers: number;
  /** Running on this host, but the process is gone. */
  readonly deadWorkers: number;
  /** Rows done by its runs that were active in the last hour / day (ended in it, or running). */
  readonly doneLastHour: number;
  readonly doneLastDay: number;
  readonly retrying: number;
  readonly quarantined: number;
  /** The last run that ended, else the one running. */
  readonly lastRun: RunView | null;
}

export interface FailureView {
  readonly id: number;
  readonly processor: string;
  readonly table: string;
  /** The row's key; several columns separated by commas. */
  readonly key: string;
  readonly attempts: number;
  readonly quarantined: boolean;
  readonly lastAt: string;
  readonly nextAt: string;
  readonly error: string;
  readonly hasStack: boolean;
}

export interface Snapshot {
  readonly pipeline: string;
  readonly database: string;
  readonly at: string;
  readonly processors: readonly ProcessorView[];
  readonly failures: readonly FailureView[];
  /** How many failures exist in all (the list holds the latest `FAILURES_SHOWN`). */
  readonly failureCount: number;
}

/** The page lists this many failed rows, most recent first. */
const FAILURES_SHOWN = 200;

const iso = (value: unknown): string | null => (value === null || value === undefined ? null : (fromDb(Run.columns.started_at.spec, value) as Date).toISOString());
const text = (value: unknown): string | null => (value === null || value === undefined ? null : redactSecrets(String(value)));

export function runView(row: Record<string, unknown>): RunView {
  const startedAt = iso(row.started_at)!;
  const endedAt = iso(row.ended_at);
  const until = endedAt ?? iso(row.heartbeat_at);
  return {
    id: Number(row.id),
    processor: String(row.processor),
    kind: String(row.kind),
    // The outcome as `runs` and `status` name it: an `ok` run with rows set aside is `rows-failed`.
    status: outcomeOf(String(row.status), Number(row.rows_failed)),
    rows: Number(row.rows_done),
    failedRows: Number(row.rows_failed),
    inFlight: Number(row.in_flight),
    startedAt,
    endedAt,
    seconds: until ? Math.max(0, (Date.parse(until) - Date.parse(startedAt)) / 1000) : null,
    host: String(row.host),
    pid: Number(row.pid),
    partition: row.partition === null || row.partition === undefined ? null : String(row.partition),
    error: text(row.error),
  };
}

/** Rows done per processor by the runs active since `since`. */
async function doneSince(engine: Engine, since: Date): Promise<Map<string, number>> {
  const bound = toDb(Run.columns.ended_at.spec, since, engine.dialect);
  const rows = (await engine
    .knex(Run.table)
    .where((q) => q.where('ended_at', '>=', bound as never).orWhere('status', 'running'))
    .select('processor')
    .sum({ n: 'rows_done' })
    .groupBy('processor')) as { processor: string; n: number | string | null }[];
  return new Map(rows.map((r) => [r.processor, Number(r.n ?? 0)]));
}

async function failureCounts(engine: Engine): Promise<Map<string, { retrying: number; quarantined: number }>> {
  const rows = (await engine.knex(Failure.table).select('processor', 'quarantined').count({ n: '*' }).groupBy('processor', 'quarantined')) as {
    processor: string;
    quarantined: unknown;
    n: number | string;
  }[];
  const counts = new Map<string, { retrying: number; quarantined: number }>();
  for (const row of rows) {
    const entry = counts.get(row.processor) ?? { retrying: 0, quarantined: 0 };
    if (fromDb(Failure.columns.quarantined.spec, row.quarantined) === true) entry.quarantined += Number(row.n);
    else entry.retrying += Number(row.n);
    counts.set(row.processor, entry);
  }
  return counts;
}

interface Workers {
  running: number;
  inFlight: number;
  stale: number;
  dead: number;
}

/** The workers marked running, judged as `status` judges them: by heartbeat and, on this host, by pid. */
async function workersByProcessor(engine: Engine, leaseSeconds: number): Promise<Map<string, Workers>> {
  const rows = (await engine.knex(Run.table).where({ status: 'running' })) as Record<string, unknown>[];
  const leaseStart = Date.now() - leaseSeconds * 1000;
  const workers = new Map<string, Workers>();
  for (const row of rows) {
    const entry = workers.get(String(row.processor)) ?? { running: 0, inFlight: 0, stale: 0, dead: 0 };
    const beat = (fromDb(Run.columns.heartbeat_at.spec, row.heartbeat_at) as Date).getTime();
    if (processGone(String(row.host), Number(row.pid))) entry.dead += 1;
    else if (beat >= leaseStart) {
      entry.running += 1;
      entry.inFlight += Number(row.in_flight);
    } else entry.stale += 1;
    workers.set(String(row.processor), entry);
  }
  return workers;
}

async function lastRunOf(engine: Engine, processor: string): Promise<RunView | null> {
  const ended = (await engine.knex(Run.table).where({ processor }).whereNot({ status: 'running' }).orderBy('id', 'desc').first()) as Record<string, unknown> | undefined;
  const any = ended ?? ((await engine.knex(Run.table).where({ processor }).orderBy('id', 'desc').first()) as Record<string, unknown> | undefined);
  return any ? runView(any) : null;
}

async function latestFailures(engine: Engine): Promise<{ failures: FailureView[]; count: number }> {
  const rows = (await engine
    .knex(Failure.table)
    .select('id', 'processor', 'model_table', 'model_key', 'attempts', 'quarantined', 'last_at', 'next_at', 'error', engine.knex.raw('(stack is not null) as has_stack'))
    .orderBy([{ column: 'last_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(FAILURES_SHOWN)) as Record<string, unknown>[];
  const [total] = (await engine.knex(Failure.table).count({ n: '*' })) as { n: number | string }[];
  const failures = rows.map((r) => ({
    id: Number(r.id),
    processor: String(r.processor),
    table: String(r.model_table),
    key: String(r.model_key).replaceAll('\x1f', ','),
    attempts: Number(r.attempts),
    quarantined: fromDb(Failure.columns.quarantined.spec, r.quarantined) === true,
    lastAt: iso(r.last_at)!,
    nextAt: iso(r.next_at)!,
    error: text(r.error) ?? '',
    hasStack: r.has_stack === true || Number(r.has_stack) === 1,
  }));
  return { failures, count: Number(total?.n ?? 0) };
}

/** Everything the page shows but the run history, in one pass of short reads. */
export async function takeSnapshot(engine: Engine, settings: ResolvedSettings, registry: Registry): Promise<Snapshot> {
  const now = Date.now();
  // Side by side on PostgreSQL (a pool of connections); one after the other on SQLite's one connection.
  const [hour, day, counts, workers, failures] = await Promise.all([
    doneSince(engine, new Date(now - 3600_000)),
    doneSince(engine, new Date(now - 86_400_000)),
    failureCounts(engine),
    workersByProcessor(engine, settings.leaseSeconds),
    latestFailures(engine),
  ]);
  const processors = await Promise.all(
    (allProcessors(registry) as ProcessorClass[]).map(async (Class): Promise<ProcessorView> => {
      const name = Class.name;
      const w = workers.get(name) ?? { running: 0, inFlight: 0, stale: 0, dead: 0 };
      const c = counts.get(name) ?? { retrying: 0, quarantined: 0 };
      const [backlog, lastRun] = await Promise.all([backlogOf(engine, Class, settings), lastRunOf(engine, name)]);
      return {
        name,
        kind: kindOf(Class),
        backlog,
        running: w.running,
        inFlight: w.inFlight,
        staleWorkers: w.stale,
        deadWorkers: w.dead,
        doneLastHour: hour.get(name) ?? 0,
        doneLastDay: day.get(name) ?? 0,
        retrying: c.retrying,
        quarantined: c.quarantined,
        lastRun,
      };
    }),
  );
  return { pipeline: settings.name, database: engine.label, at: new Date(now).toISOString(), processors, failures: failures.failures, failureCount: failures.count };
}

export interface RunFilter {
  readonly processor?: string | undefined;
  readonly status?: string | undefined;
  /** (Default: 100, at most 1000) */
  readonly limit?: number | undefined;
}

/** The run history, newest first, filtered by processor and status. */
export async function listRuns(engine: Engine, filter: RunFilter = {}): Promise<RunView[]> {
  const query = engine.knex(Run.table).orderBy('id', 'desc').limit(Math.min(Math.max(1, filter.limit ?? 100), 1000));
  if (filter.processor) query.where({ processor: filter.processor });
  // `ok` and `rows-failed` are both stored `ok`, told apart by the rows set aside.
  if (filter.status === 'ok') query.where({ status: 'ok', rows_failed: 0 });
  else if (filter.status === 'rows-failed') query.where({ status: 'ok' }).where('rows_failed', '>', 0);
  else if (filter.status) query.where({ status: filter.status });
  return ((await query) as Record<string, unknown>[]).map(runView);
}

/** The stack recorded with one failure, or null (none, or no such failure). */
export async function failureStack(engine: Engine, id: number): Promise<string | null> {
  const row = (await engine.knex(Failure.table).where({ id }).first('stack')) as { stack: unknown } | undefined;
  return text(row?.stack ?? null);
}
