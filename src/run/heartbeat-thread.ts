/**
 * The heartbeat thread of one processor run (PostgreSQL), started by heartbeat.ts.
 * It has its own event loop and its own pg session, so it beats while the main
 * thread is busy in a CPU-bound `process()` or waits on a slow one: liveness then
 * means "the process runs", not "the row loop talks to the database".
 *
 * Every beat: `heartbeat_at = now()` (the server's clock, so clock skew between
 * machines does not matter). Every lease: the peer check of lease.ts, which ends
 * other workers whose heartbeat stopped. Nothing here throws into the main thread:
 * it reports through messages, and the main thread logs them.
 *
 * The first beat comes half a beat interval after the start (the run's row was just
 * written with the heartbeat of its start), and pg is loaded and the session opened
 * only then: a run shorter than that, common on a small table, costs the thread's
 * start only, not pg's modules and a session. The first beat is then due earlier
 * than any beat after it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type pg from 'pg';
import { endStaleWorkersWith, type Sql } from '../db/bookkeeping/lease.js';

export interface HeartbeatData {
  readonly runId: number;
  readonly connection: Record<string, unknown>;
  readonly searchPath: readonly string[] | undefined;
  readonly sessionName: string;
  readonly setupSql: string;
  readonly beatMs: number;
  readonly peerCheckMs: number;
  readonly leaseSeconds: number;
  /** When the main thread created the Worker (performance.timeOrigin-based epoch ms). */
  readonly startedAt: number;
}

/** Thread → main thread. */
export type HeartbeatMessage =
  | { type: 'ready'; ms: number }
  | { type: 'warn'; message: string }
  | { type: 'ended'; workers: import('../db/bookkeeping/lease.js').EndedWorker[] }
  | { type: 'refused'; message: string }
  | { type: 'declared-dead' };

const data = workerData as HeartbeatData;
const port = parentPort!;
const post = (message: HeartbeatMessage) => port.postMessage(message);

let client: pg.Client | undefined;
let stopped = false;
let failing = false;
let declaredDead = false;
let readySent = false;
let nextPeerCheck = Date.now() + data.peerCheckMs;
let timer: NodeJS.Timeout | undefined;

function quoteIdent(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}

async function connect(): Promise<pg.Client> {
  const { default: driver } = await import('pg');
  // A connect that hangs (a server or route gone silent) must not stall the beats for good.
  const fresh = new driver.Client({ connectionTimeoutMillis: Math.max(1000, data.leaseSeconds * 1000), ...data.connection } as pg.ClientConfig);
  // A lost connection shows on the next query; the next beat reconnects.
  fresh.on('error', () => undefined);
  await fresh.connect();
  try {
    if (data.searchPath?.length) await fresh.query(`SET search_path TO ${data.searchPath.map(quoteIdent).join(', ')}`);
    await fresh.query(data.setupSql);
  } catch (error) {
    await fresh.end().catch(() => undefined);
    throw error;
  }
  return fresh;
}

const sql: Sql = async (text, values) => {
  let n = 0;
  if (stopped) throw new Error('the heartbeat has stopped');
  client ??= await connect();
  return (await client.query(text.replace(/\?/g, () => `$${++n}`), [...values])).rows as Record<string, unknown>[];
};

async function beat(): Promise<void> {
  const rows = await sql(`UPDATE corral_runs SET heartbeat_at = now() WHERE id = ? AND status = 'running' RETURNING id`, [data.runId]);
  if (rows.length === 0 && !declaredDead) {
    declaredDead = true;
    post({ type: 'declared-dead' });
  }
}

async function tick(): Promise<void> {
  const started = Date.now();
  try {
    await beat();
    if (!readySent) post({ type: 'ready', ms: Date.now() - data.startedAt });
    readySent = true;
    failing = false;
    if (Date.now() >= nextPeerCheck) {
      nextPeerCheck = Date.now() + data.peerCheckMs;
      const outcome = await endStaleWorkersWith(sql, data.leaseSeconds, data.sessionName);
      if (outcome.ended.length) post({ type: 'ended', workers: outcome.ended });
      if (outcome.refused) post({ type: 'refused', message: outcome.refused });
    }
  } catch (error) {
    if (stopped) return;
    // Said once per failure streak, not once per beat; the session is opened again next beat.
    if (!failing) post({ type: 'warn', message: `The heartbeat of this run could not be written: ${(error as Error).message}` });
    failing = true;
    const broken = client;
    client = undefined;
    await broken?.end().catch(() => undefined);
  }
  if (!stopped) timer = setTimeout(() => void tick(), Math.max(0, data.beatMs - (Date.now() - started)));
}

port.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  stopped = true;
  if (timer) clearTimeout(timer);
  const last = client;
  client = undefined;
  void (last ? last.end().catch(() => undefined) : Promise.resolve()).then(() => port.close());
});
timer = setTimeout(() => void tick(), Math.round(data.beatMs / 2));
