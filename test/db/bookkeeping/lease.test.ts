/**
 * db/bookkeeping/lease.ts against the real server: a `corral_runs` row whose heartbeat is older
 * than the lease, and a live session carrying its name (a pg client with that
 * `application_name`, idle in a transaction that holds a row lock, as a frozen worker's).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, expect, test } from 'vitest';
import { Engine } from '../../../src/db/engine.js';
import { Run } from '../../../src/db/bookkeeping/models.js';
import { createMissingTables } from '../../../src/db/schema.js';
import { endStaleWorkersWith, leaseExpiredMessage, type Sql } from '../../../src/db/bookkeeping/lease.js';
import { describePg, pgDatabasePerTest, withPgClient } from '../../helpers/postgres.js';

describePg('ending stale workers (PostgreSQL)', () => {
  const newDatabase = pgDatabasePerTest();
  const clients: pg.Client[] = [];
  const role = `corral_lease_${randomBytes(4).toString('hex')}`;
  let roleCreated = false;

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.end().catch(() => undefined);
  });
  // After the databases (pgDatabasePerTest's afterEach) that hold the role's grants are gone.
  afterAll(async () => {
    if (roleCreated) await withPgClient((client) => client.query(`DROP ROLE IF EXISTS ${role}`));
  });

  async function connect(url: string, options: { user?: string; name?: string } = {}): Promise<pg.Client> {
    const target = new URL(url);
    // In a connection string, not beside it: pg lets the string's user win.
    if (options.user) target.username = options.user;
    const client = new pg.Client({ connectionString: target.toString(), ...(options.name ? { application_name: options.name } : {}) });
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    return client;
  }

  const sqlOf =
    (client: pg.Client): Sql =>
    async (text, values) => {
      let n = 0;
      return (await client.query(text.replace(/\?/g, () => `$${++n}`), [...values])).rows as Record<string, unknown>[];
    };

  /** A database with corral's tables, a run whose last heartbeat was 10 s ago, and its session holding a row lock. */
  async function staleWorker() {
    const { url } = await newDatabase();
    const engine = await Engine.open({ knex: { client: 'pg', connection: url }, label: 'test' });
    try {
      await createMissingTables(engine, [Run]);
    } finally {
      await engine.destroy();
    }
    const session = 'corral:test:1:stale';
    const admin = await connect(url);
    const [run] = (
      await admin.query(
        `INSERT INTO corral_runs (processor, kind, host, pid, started_at, heartbeat_at, status, session)
         VALUES ('MyStep', 'step', 'h', 1, now() - interval '1 minute', now() - interval '10 seconds', 'running', $1) RETURNING id`,
        [session],
      )
    ).rows as { id: number }[];
    await admin.query('CREATE TABLE held (id int PRIMARY KEY); INSERT INTO held VALUES (1)');
    const frozen = await connect(url, { name: session });
    await frozen.query('BEGIN');
    await frozen.query('SELECT * FROM held FOR UPDATE');
    return { url, admin, frozen, session, id: run!.id };
  }

  const sessionsNamed = async (client: pg.Client, name: string) =>
    Number((await client.query('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [name])).rows[0].n);

  test('when a running worker heartbeat is older than the lease then its sessions are ended and its run is dead; a fresh one is left alone', async () => {
    const { admin, session, id } = await staleWorker();
    const outcome = await endStaleWorkersWith(sqlOf(admin), 30);
    expect(outcome).toEqual({ ended: [] });
    const ended = await endStaleWorkersWith(sqlOf(admin), 5);
    expect(ended).toEqual({ ended: [{ id, processor: 'MyStep', host: 'h', pid: 1, partition: null, sessions: 1 }] });
    expect(await sessionsNamed(admin, session)).toBe(0);
    const { rows } = await admin.query('SELECT status, error FROM corral_runs WHERE id = $1', [id]);
    expect(rows).toEqual([{ status: 'dead', error: leaseExpiredMessage(5) }]);
    // Its lock went with it.
    expect((await admin.query('SELECT id FROM held FOR UPDATE NOWAIT')).rows).toEqual([{ id: 1 }]);
    // Already dead: nobody acts on it again.
    expect(await endStaleWorkersWith(sqlOf(admin), 5)).toEqual({ ended: [] });
  });

  test('when the noticer may not end the sessions then it says how to grant it, ends nothing, and the run stays running', async () => {
    const { url, admin, session, id } = await staleWorker();
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    roleCreated = true;
    await admin.query(`GRANT SELECT, UPDATE ON corral_runs TO ${role}`);
    const weak = await connect(url, { user: role });
    const outcome = await endStaleWorkersWith(sqlOf(weak), 5);
    expect(outcome.ended).toEqual([]);
    expect(outcome.refused).toContain(`Cannot end the stale worker MyStep on h, pid 1, run #${id}, whose rows stay locked:`);
    expect(outcome.refused).toContain(`GRANT pg_signal_backend TO ${role}`);
    expect(await sessionsNamed(admin, session)).toBe(1);
    await expect(admin.query('SELECT id FROM held FOR UPDATE NOWAIT')).rejects.toThrow(/could not obtain lock/);
    const { rows } = await admin.query('SELECT status, error, ended_at FROM corral_runs WHERE id = $1', [id]);
    expect(rows).toEqual([{ status: 'running', error: null, ended_at: null }]);
  });
});
