import { CommandError } from '../../core/errors.js';
import type { Engine } from '../engine.js';
import { Run } from './models.js';
import { fromDb, toDb } from '../values.js';
import { spooledRuns, type UnrecordedRun } from './unrecorded.js';

/**
 * How a run ended, as `runs` and `status` name it. The stored status, except that a
 * run that ended `ok` with rows set aside is `rows-failed`: the processor went
 * through, but some rows did not.
 */
export const RUN_OUTCOMES = ['running', 'ok', 'rows-failed', 'failed', 'stopped', 'stopped-waiting', 'not-started', 'dead'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export function outcomeOf(status: string, failedRows: number): RunOutcome {
  if (status === 'ok' && failedRows > 0) return 'rows-failed';
  return (RUN_OUTCOMES as readonly string[]).includes(status) ? (status as RunOutcome) : 'failed';
}

/** `rows failed`, `not started`: an outcome as a person reads it. */
export function outcomeText(outcome: RunOutcome): string {
  return outcome.replaceAll('-', ' ');
}

/** One run of one processor (one process of it, when several share its rows). */
export interface RunEntry {
  /** Its `corral_runs` id; null while it waits beside the database to be written there (unrecorded.ts). */
  readonly id: number | null;
  readonly processor: string;
  readonly kind: string;
  readonly outcome: RunOutcome;
  readonly rows: number;
  readonly failedRows: number;
  /** From start to end, or to now for a run still running. */
  readonly seconds: number;
  readonly host: string;
  readonly pid: number;
  /** `index/count` of the rows this process took, when several shared the processor. */
  readonly partition: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly error: string | null;
}

export interface RunFilter {
  readonly processors?: readonly string[] | undefined;
  readonly outcomes?: readonly RunOutcome[] | undefined;
  /** Runs started at or after this moment. */
  readonly since?: Date | undefined;
  /** The newest this many. (Default: 50) */
  readonly limit?: number | undefined;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * `--since`: a time ago (`90s`, `30m`, `6h`, `2d`, `1w`) or a date or time (`2026-12-06`,
 * `2026-12-06T10:00`, UTC unless it names its zone).
 */
export function parseSince(text: string, now = new Date()): Date {
  const ago = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (ago) return new Date(now.getTime() - Number(ago[1]) * UNITS[ago[2]!]! * 1000);
  if (/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?)?(Z|[+-]\d\d:?\d\d)?$/.test(text.trim())) {
    const iso = text.trim().replace(' ', 'T');
    const date = new Date(/T/.test(iso) && !/(Z|[+-]\d\d:?\d\d)$/.test(iso) ? `${iso}Z` : iso);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new CommandError(`--since takes a time ago or a date, got '${text}'`, { hint: "For example --since 30m, --since 6h, --since 2d, --since 2026-12-06 or --since '2026-12-06 10:00' (UTC)" });
}

/** Checks `--status` names, with the list of the valid ones. */
export function parseOutcomes(names: readonly string[]): RunOutcome[] {
  for (const name of names) {
    if (!(RUN_OUTCOMES as readonly string[]).includes(name)) {
      throw new CommandError(`Unknown run status '${name}'`, { hint: `Known: ${RUN_OUTCOMES.join(', ')}` });
    }
  }
  return names as RunOutcome[];
}

const date = (value: unknown) => fromDb(Run.columns.started_at.spec, value) as Date | null;

function entryOf(row: Record<string, unknown>, now: number): RunEntry {
  const started = date(row.started_at)!;
  const ended = date(row.ended_at);
  const failedRows = Number(row.rows_failed);
  return {
    id: Number(row.id),
    processor: String(row.processor),
    kind: String(row.kind),
    outcome: outcomeOf(String(row.status), failedRows),
    rows: Number(row.rows_done),
    failedRows,
    seconds: Math.max(0, ((ended ?? new Date(now)).getTime() - started.getTime()) / 1000),
    host: String(row.host),
    pid: Number(row.pid),
    partition: row.partition === null || row.partition === undefined ? null : String(row.partition),
    startedAt: started.toISOString(),
    endedAt: ended ? ended.toISOString() : null,
    error: row.error === null || row.error === undefined ? null : String(row.error),
  };
}

function spooledEntry(run: UnrecordedRun): RunEntry {
  return {
    id: null,
    processor: run.processor,
    kind: run.kind,
    outcome: outcomeOf(run.status, run.rowsFailed),
    rows: run.rowsDone,
    failedRows: run.rowsFailed,
    seconds: Math.max(0, (Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000),
    host: run.host,
    pid: run.pid,
    partition: run.partition,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    error: run.error,
  };
}

function matches(entry: RunEntry, filter: RunFilter): boolean {
  return (
    (!filter.processors?.length || filter.processors.includes(entry.processor)) &&
    (!filter.outcomes?.length || filter.outcomes.includes(entry.outcome)) &&
    (!filter.since || Date.parse(entry.startedAt) >= filter.since.getTime())
  );
}

/**
 * Past and running runs, newest first: `corral_runs`, plus the runs waiting beside a
 * SQLite file to be written there. A read only: on SQLite it takes no lock.
 */
export async function listRuns(engine: Engine, filter: RunFilter = {}): Promise<RunEntry[]> {
  const limit = filter.limit ?? 50;
  const query = engine.knex(Run.table).orderBy('id', 'desc').limit(limit);
  if (filter.processors?.length) query.whereIn('processor', [...filter.processors]);
  if (filter.since) query.where('started_at', '>=', toDb(Run.columns.started_at.spec, filter.since, engine.dialect) as never);
  if (filter.outcomes?.length) {
    const outcomes = filter.outcomes;
    query.where((where) => {
      for (const outcome of outcomes) {
        if (outcome === 'ok') where.orWhere((w) => w.where('status', 'ok').where('rows_failed', 0));
        else if (outcome === 'rows-failed') where.orWhere((w) => w.where('status', 'ok').where('rows_failed', '>', 0));
        else where.orWhere('status', outcome);
      }
    });
  }
  const now = Date.now();
  const recorded = ((await query) as Record<string, unknown>[]).map((row) => entryOf(row, now));
  const waiting = spooledRuns(engine).map(spooledEntry).filter((entry) => matches(entry, filter));
  return [...recorded, ...waiting].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || (b.id ?? Infinity) - (a.id ?? Infinity)).slice(0, limit);
}
