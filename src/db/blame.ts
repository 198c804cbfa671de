/**
 * Whose fault a database error is. A processor loop asks this of every error it
 * catches, so that only a row's own fault costs that row an attempt:
 *
 * - `row`: the database refused a value the row wrote (too long, out of range, a
 *   taken unique value, a missing foreign key, NOT NULL, CHECK). Recorded against
 *   the row, retried with backoff, quarantined after `maxAttempts`.
 * - `connection`: the session is gone (network, `pg_terminate_backend`, a server
 *   restart, the lease). The chunk rolls back, no row is blamed; reconnect and go on.
 * - `retry`: concurrency (serialization failure, deadlock, SQLite busy). Nobody's
 *   fault: run the chunk again.
 * - `server`: the database cannot work (disk full, out of memory, read-only, no
 *   permission). No row is blamed; the processor stops with one line.
 * - `unknown`: not a database error at all (the pipeline's own code threw). The
 *   loops treat it as the row's when it happened while a row was processed.
 *
 * PostgreSQL puts the SQLSTATE in `error.code` (its first two characters are the
 * class); better-sqlite3 puts `SQLITE_*` there; Node's network errors `E*`.
 */
export type Blame = 'row' | 'connection' | 'retry' | 'server' | 'unknown';

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/** node-postgres and knex say these in words, without a code. */
const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /terminating connection/i,
  /client has encountered a connection error/i,
  /connection (?:is )?(?:closed|ended)/i,
  /cannot use a pool after calling end/i,
  /client was closed and is not queryable/i,
  /timeout (?:exceeded )?(?:when|while) (?:trying to )?connect/i,
  /knex: timeout acquiring a connection/i,
];

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The error and its causes, outermost first (a ProcessorError wraps the driver's error). */
function* chain(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  for (let e = error; e !== undefined && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    yield e;
  }
}

function blameOfOne(error: unknown): Blame {
  if (error instanceof RowRefused) return 'row';
  const code = codeOf(error);
  if (code) {
    if (NETWORK_CODES.has(code)) return 'connection';
    if (code.startsWith('SQLITE_')) return sqliteBlame(code);
    if (/^[0-9A-Z]{5}$/.test(code)) return postgresBlame(code);
  }
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  if (CONNECTION_MESSAGES.some((pattern) => pattern.test(message))) return 'connection';
  return 'unknown';
}

function postgresBlame(sqlstate: string): Blame {
  const klass = sqlstate.slice(0, 2);
  if (klass === '22' || klass === '23') return 'row';
  if (klass === '08' || sqlstate === '57P01' || sqlstate === '57P02' || sqlstate === '57P03' || sqlstate === '25P03') return 'connection';
  // 57P05: idle_session_timeout.
  if (sqlstate === '57P05') return 'connection';
  if (sqlstate === '40001' || sqlstate === '40P01' || sqlstate === '55P03') return 'retry';
  if (klass === '53' || klass === '54' || klass === '58' || klass === 'XX' || sqlstate === '25006' || sqlstate === '42501') return 'server';
  return 'unknown';
}

function sqliteBlame(code: string): Blame {
  if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG' || code === 'SQLITE_RANGE') return 'row';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'retry';
  if (
    code === 'SQLITE_FULL' ||
    code.startsWith('SQLITE_IOERR') ||
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code === 'SQLITE_NOMEM' ||
    code.startsWith('SQLITE_CORRUPT') ||
    code === 'SQLITE_PERM' ||
    code === 'SQLITE_NOLFS'
  ) {
    return 'server';
  }
  return 'unknown';
}

/** Whose fault `error` is; the first cause in its chain that a database explains decides. */
export function blameOf(error: unknown): Blame {
  for (const e of chain(error)) {
    const blame = blameOfOne(e);
    if (blame !== 'unknown') return blame;
  }
  return 'unknown';
}

/** A value a row wrote that the database (or corral, before the database) refuses. */
export class RowRefused extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RowRefused';
  }
}
