/**
 * The page's own connection for reading. On PostgreSQL every statement runs under
 * `statement_timeout` and `lock_timeout`: a count that would take long, or wait
 * behind a lock, is cancelled (and the page says so) rather than holding anything a
 * worker needs. On SQLite reads never wait: in WAL mode a reader neither takes nor
 * waits for the write lock.
 */
import type { Knex } from 'knex';
import type { ConnectionConfig } from '../conf/connection.js';
import type { Logger } from '../core/logger.js';
import { Engine } from '../db/engine.js';

/** A read of the page that takes longer is cancelled by the server. (PostgreSQL) */
const STATEMENT_TIMEOUT_MS = 10_000;
/** A read that would wait longer for a lock is cancelled. (PostgreSQL) */
const LOCK_TIMEOUT_MS = 1_000;

function withTimeouts(knex: Knex.Config): Knex.Config {
  const given = knex.connection;
  const base = typeof given === 'string' ? { connectionString: given } : (given as Record<string, unknown> | undefined);
  return { ...knex, connection: { ...base, statement_timeout: STATEMENT_TIMEOUT_MS, lock_timeout: LOCK_TIMEOUT_MS } as Knex.StaticConnectionConfig };
}

export function openReadEngine(connection: ConnectionConfig, leaseSeconds: number, logger: Logger): Promise<Engine> {
  const knex = connection.dialect === 'postgres' ? withTimeouts(connection.knex) : connection.knex;
  return Engine.open({ knex, label: connection.label, leaseSeconds, logger });
}
