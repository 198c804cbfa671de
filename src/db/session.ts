import os from 'node:os';

/**
 * How corral's PostgreSQL sessions present themselves and what they ask of the server.
 *
 * Liveness is corral's heartbeat in `corral_runs` (run/heartbeat.ts), not the server's
 * view of a session: `idle_in_transaction_session_timeout` would end a healthy worker
 * whose `process()` is slow, so corral's sessions switch it off. What remains for the
 * server is a machine that vanishes: TCP keepalive probes an idle connection, and
 * `tcp_user_timeout` bounds how long data sent to it may stay unacknowledged (a worker
 * that vanishes while the server writes a chunk to it).
 */

/** PostgreSQL keeps at most 63 bytes of application_name (NAMEDATALEN - 1). */
const MAX_NAME_BYTES = 63;

/**
 * A name for every session of this process, `corral:<host>:<pid>:<nonce>`, unique
 * among the workers of a database: `pg_stat_activity.application_name` then tells
 * whose sessions to end when its heartbeat stops. Plain ASCII, so it can be quoted
 * as a literal and is never cut inside a character.
 */
export function newSessionName(host = os.hostname(), pid = process.pid): string {
  const tail = `:${pid}:${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}`;
  const room = MAX_NAME_BYTES - 'corral:'.length - tail.length;
  const safeHost = host.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, Math.max(0, room));
  return `corral:${safeHost}${tail}`;
}

/** The TCP settings derived from the lease (seconds, except `userTimeoutMs`). */
export interface KeepAlive {
  /** Silence before the first probe. */
  readonly idle: number;
  /** Between probes. */
  readonly interval: number;
  /** Unanswered probes before the connection is dropped. */
  readonly count: number;
  /** Sent data unacknowledged this long drops the connection. */
  readonly userTimeoutMs: number;
}

/**
 * Keepalive so that the server drops a vanished client within about the lease:
 * first probe after half the lease, then 3 probes a sixth of the lease apart, whole
 * seconds and at least 1 s each: idle + 3 · interval ≈ leaseSeconds, never below 4 s.
 */
export function keepAliveFor(leaseSeconds: number): KeepAlive {
  const idle = Math.max(1, Math.round(leaseSeconds / 2));
  const interval = Math.max(1, Math.round(leaseSeconds / 6));
  return { idle, interval, count: 3, userTimeoutMs: Math.max(1000, Math.round(leaseSeconds * 1000)) };
}

/**
 * The statements that set up each corral session on PostgreSQL. `tcp_user_timeout`
 * exists from PostgreSQL 12 on, hence `set_config` behind a version test. Over a Unix
 * socket the server ignores the TCP settings.
 */
export function sessionSetupSql(sessionName: string, leaseSeconds: number): string {
  const k = keepAliveFor(leaseSeconds);
  return [
    `SET application_name = '${sessionName.replaceAll("'", "''")}'`,
    // The lease is the heartbeat now: never end a session for being slow.
    'SET idle_in_transaction_session_timeout = 0',
    `SET tcp_keepalives_idle = ${k.idle}`,
    `SET tcp_keepalives_interval = ${k.interval}`,
    `SET tcp_keepalives_count = ${k.count}`,
    `SELECT set_config('tcp_user_timeout', '${k.userTimeoutMs}', false) WHERE current_setting('server_version_num')::int >= 120000`,
  ].join('; ');
}
