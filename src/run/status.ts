import fs from 'node:fs';
import os from 'node:os';
import type { ResolvedSettings } from '../conf/settings.js';
import type { Engine } from '../db/engine.js';
import { Failure, Run } from '../db/bookkeeping/models.js';
import { fromDb, toDb } from '../db/values.js';
import type { Environment } from './environment.js';
import { alertRestriction } from './execute-alert.js';
import { kindOf, modelOf, type ProcessorKind } from './processor-class.js';
import { FailureLog } from '../db/bookkeeping/failures.js';
import { endStaleWorkers } from '../db/bookkeeping/lease.js';
import { allProcessors } from './registry.js';
import { outcomeOf, type RunOutcome } from '../db/bookkeeping/run-list.js';
import type { ProcessorClass } from '../processors/processor.js';
import { isAlertClass, isStepClass, type AlertClass, type StepClass } from '../processors/processor-kinds.js';
import type { Restriction } from '../db/conditions.js';
import { anyMatching, countMatching, type WorkSetSpec } from './work-set.js';

export interface LastRun {
  readonly startedAt: string;
  readonly endedAt: string | null;
  /** As stored in corral_runs: `ok` even when rows failed. */
  readonly status: string;
  /** What it was: `rows-failed` for an `ok` run with failed rows (runs.ts). */
  readonly outcome: RunOutcome;
  readonly rows: number;
  readonly failedRows: number;
  readonly host: string;
  readonly pid: number;
  /** What ended a failed run. */
  readonly error: string | null;
}

export interface ProcessorStatus {
  readonly processor: string;
  readonly kind: ProcessorKind;
  /** Rows matching its conditions right now (not yet alerted, not backing off); null for the loader. */
  readonly backlog: number | null;
  /** Rows in the chunks of workers running now. */
  readonly inFlight: number;
  /** Workers marked running whose heartbeat is older than the lease: most likely dead. */
  readonly staleWorkers: number;
  /** Workers marked running on this host whose process is gone (killed, crashed): their chunks rolled back. */
  readonly deadWorkers: number;
  readonly retrying: number;
  readonly quarantined: number;
  readonly lastRun: LastRun | null;
}

const iso = (value: unknown) => (value === null || value === undefined ? null : (fromDb(Run.columns.started_at.spec, value) as Date).toISOString());

/**
 * Whether a run recorded on `host` by `pid` certainly has no process any more: only
 * this host's processes can be asked (signal 0 checks without sending anything).
 * EPERM means a process of another user holds the pid: alive, as far as we know. A
 * pid reused by an unrelated process looks alive; the heartbeat then tells.
 */
export function processGone(host: string, pid: number): boolean {
  if (host !== os.hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  return isZombie(pid);
}

/**
 * Linux: a process killed after its parent died stays a zombie until the container's
 * init reaps it, and some never do (a container started without --init): it answers
 * signal 0, yet it is dead. Elsewhere (no /proc) it counts as alive.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": the state follows the last ')', since comm may hold one.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

async function runsOf(engine: Engine, processor: string, leaseSeconds: number) {
  const rows = (await engine.knex(Run.table).where({ processor }).orderBy('id', 'desc').limit(200)) as Record<string, unknown>[];
  const leaseStart = Date.now() - leaseSeconds * 1000;
  let inFlight = 0;
  let stale = 0;
  let dead = 0;
  for (const row of rows.filter((r) => r.status === 'running')) {
    const beat = (fromDb(Run.columns.heartbeat_at.spec, row.heartbeat_at) as Date).getTime();
    if (processGone(String(row.host), Number(row.pid))) dead += 1;
    else if (beat >= leaseStart) inFlight += Number(row.in_flight);
    else stale += 1;
  }
  const last = rows.find((r) => r.status !== 'running') ?? rows[0];
  const lastRun: LastRun | null = last
    ? {
        startedAt: iso(last.started_at)!,
        endedAt: iso(last.ended_at),
        status: String(last.status),
        outcome: outcomeOf(String(last.status), Number(last.rows_failed)),
        rows: Number(last.rows_done),
        failedRows: Number(last.rows_failed),
        host: String(last.host),
        pid: Number(last.pid),
        error: last.error === null || last.error === undefined ? null : String(last.error),
      }
    : null;
  return { inFlight, stale, dead, lastRun };
}

/**
 * The rows a step or alert would take on now: its conditions, minus rows backing
 * off or quarantined, and (alerts) rows already alerted.
 */
async function backlogSpec(engine: Engine, Class: StepClass | AlertClass, settings: ResolvedSettings): Promise<Omit<WorkSetSpec, 'chunkSize'>> {
  const Model = modelOf(Class);
  const failures = new FailureLog(engine, Class.name, Model, settings);
  await failures.load();
  const restriction: Restriction = isAlertClass(Class) ? alertRestriction(Class.name, Model, engine, failures) : failures.restriction();
  return { Model, conditions: Class.conditions ?? [], ordering: undefined, restriction };
}

/** How many rows a step or alert has waiting (null for the loader, whose work is not in the database). */
export async function backlogOf(engine: Engine, Class: ProcessorClass, settings: ResolvedSettings): Promise<number | null> {
  if (!isStepClass(Class) && !isAlertClass(Class)) return null;
  return countMatching(engine.knex, await backlogSpec(engine, Class, settings));
}

/** Whether a step or alert has at least one row waiting; a loader always has work. */
export async function hasBacklog(engine: Engine, Class: ProcessorClass, settings: ResolvedSettings): Promise<boolean> {
  if (!isStepClass(Class) && !isAlertClass(Class)) return true;
  return anyMatching(engine.knex, await backlogSpec(engine, Class, settings));
}

/** What `corral status` shows for every processor of the pipeline. */
export async function pipelineStatus(env: Environment): Promise<ProcessorStatus[]> {
  const engine = env.engine!;
  // Whoever looks ends the workers whose lease expired: they show as dead, their rows free.
  await endStaleWorkers(engine, env.settings.leaseSeconds, env.logger);
  const statuses: ProcessorStatus[] = [];
  for (const Class of allProcessors(env.registry)) {
    const kind = kindOf(Class);
    const backlog = await backlogOf(engine, Class, env.settings);
    const counts = (await engine
      .knex(Failure.table)
      .where({ processor: Class.name })
      .select('quarantined')
      .count({ n: '*' })
      .groupBy('quarantined')) as { quarantined: unknown; n: number | string }[];
    const quarantined = counts.filter((c) => fromDb(Failure.columns.quarantined.spec, c.quarantined) === true).reduce((n, c) => n + Number(c.n), 0);
    const retrying = counts.reduce((n, c) => n + Number(c.n), 0) - quarantined;
    const { inFlight, stale, dead, lastRun } = await runsOf(engine, Class.name, env.settings.leaseSeconds);
    statuses.push({ processor: Class.name, kind, backlog, inFlight, staleWorkers: stale, deadWorkers: dead, retrying, quarantined, lastRun });
  }
  return statuses;
}

/** One thing a monitor should hear about (`status --check`). */
export interface HealthProblem {
  readonly processor: string;
  readonly problem: 'quarantined' | 'stale' | 'dead' | 'last-run-failed';
  readonly message: string;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * What needs a human: rows that stopped being retried, workers that stopped
 * beating or whose process is gone, and processors whose last run failed. Rows
 * still retrying, a backlog and stopped runs are normal life and not listed.
 */
export function healthProblems(statuses: readonly ProcessorStatus[]): HealthProblem[] {
  const problems: HealthProblem[] = [];
  for (const s of statuses) {
    const add = (problem: HealthProblem['problem'], message: string) => problems.push({ processor: s.processor, problem, message: `${s.processor}: ${message}` });
    if (s.quarantined > 0) add('quarantined', `${plural(s.quarantined, 'row', 'rows')} quarantined (see 'failures ${s.processor}'; 'failures --retry' after fixing)`);
    if (s.staleWorkers > 0) add('stale', `${plural(s.staleWorkers, 'worker', 'workers')} marked running with no heartbeat for more than leaseSeconds`);
    if (s.deadWorkers > 0) add('dead', `${plural(s.deadWorkers, 'worker', 'workers')} marked running whose process is gone (killed or crashed; its chunk was rolled back)`);
    if (s.lastRun?.status === 'not-started') add('last-run-failed', `last run could not start at ${s.lastRun.startedAt}: ${s.lastRun.error ?? 'no message recorded'}`);
    if (s.lastRun?.status === 'failed') add('last-run-failed', `last run failed at ${s.lastRun.endedAt ?? s.lastRun.startedAt}: ${s.lastRun.error ?? 'no message recorded'}`);
  }
  return problems;
}

export interface FailureRecord {
  readonly processor: string;
  readonly table: string;
  readonly key: string;
  readonly attempts: number;
  readonly quarantined: boolean;
  readonly firstAt: string;
  readonly lastAt: string;
  readonly nextAt: string;
  readonly error: string;
  readonly stack: string | null;
}

function failureFilter(engine: Engine, processors: readonly string[] | undefined) {
  const query = engine.knex(Failure.table);
  if (processors && processors.length > 0) query.whereIn('processor', [...processors]);
  return query;
}

export async function listFailures(engine: Engine, processors?: readonly string[]): Promise<FailureRecord[]> {
  const rows = (await failureFilter(engine, processors).orderBy(['processor', 'id'])) as Record<string, unknown>[];
  const spec = Failure.columns;
  return rows.map((r) => ({
    processor: String(r.processor),
    table: String(r.model_table),
    key: String(r.model_key),
    attempts: Number(r.attempts),
    quarantined: fromDb(spec.quarantined.spec, r.quarantined) === true,
    firstAt: iso(r.first_at)!,
    lastAt: iso(r.last_at)!,
    nextAt: iso(r.next_at)!,
    error: String(r.error),
    stack: r.stack === null || r.stack === undefined ? null : String(r.stack),
  }));
}

/** Makes recorded rows eligible again on the next run (attempts are kept). */
export async function retryFailures(engine: Engine, processors?: readonly string[]): Promise<number> {
  const past = toDb(Failure.columns.next_at.spec, new Date(0), engine.dialect);
  return engine.autocommit(async (db) => {
    const query = db(Failure.table);
    if (processors && processors.length > 0) query.whereIn('processor', [...processors]);
    return Number(await query.update({ quarantined: toDb(Failure.columns.quarantined.spec, false, engine.dialect), next_at: past }));
  });
}

/** Forgets recorded failures: the rows are processed again as if they never failed. */
export async function clearFailures(engine: Engine, processors?: readonly string[]): Promise<number> {
  return engine.autocommit(async (db) => {
    const query = db(Failure.table);
    if (processors && processors.length > 0) query.whereIn('processor', [...processors]);
    return Number(await query.delete());
  });
}
