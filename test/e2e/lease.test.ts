/**
 * Issue 11, point 2: a lease never ends a healthy worker. Liveness is a heartbeat of
 * its own (a thread with its own session on PostgreSQL), not the silence of the row
 * loop: a slow `process()` keeps its chunk however long it takes, and a worker whose
 * heartbeat is older than `leaseSeconds` has its sessions ended by whoever notices (a
 * new run, `status`, a live peer), which frees its locked rows.
 *
 * Driven as a user drives it: `node in_corral.js run|status|createdb` on a scaffolded
 * pipeline. Example gets a `counter` that a database trigger increments on every
 * committed update of `processed`: the step itself sends no statement while it works
 * (the case the old lease got wrong), and a row committed twice would show 2.
 * Frozen workers are SIGSTOPped at a barrier (process() waits for a file on a chosen
 * row) and everything after is awaited on database states, never on sleeps.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { configureSettings, summaryRows, usePipelineDb, waitFor, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, startCommand, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { describePg, forEachDatabase, pgDatabasePerTest, type Dialect } from '../helpers/postgres.js';
import { describeResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-lease-');
let scaffold: ScaffoldedPipeline | undefined;
let copies = 0;
const open: PipelineDb[] = [];
/** Worker processes this file stopped: never left stopped behind a failed test. */
const stoppedPids = new Set<number>();

const LEASE = 2;
const CHUNK = 100;
const ROWS = 300;

afterEach(async () => {
  for (const pid of stoppedPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  stoppedPids.clear();
  for (const db of open.splice(0)) await db.close();
});

beforeAll(async () => {
  scaffold ??= await createPipeline(tempDir(), 'leasepipe');
});

/** A step body: `sync` runs in a synchronous process(), `async` in an async one. */
interface Body {
  readonly sync?: string;
  readonly async?: string;
}

/** A copy of the scaffold whose MyStep runs `body` before it changes its row; Example counts committed updates. */
async function pipeline(dialect: Dialect, newDatabase: () => Promise<import('../helpers/postgres.js').TestDatabase>, body: Body, settings: Record<string, unknown> = {}) {
  const pipe = copyPipeline(scaffold!, tempDir(), `leasepipe-${++copies}`);
  const db = usePipelineDb(pipe, dialect, dialect === 'postgres' ? await newDatabase() : undefined);
  open.push(db);
  configureSettings(pipe, { logLevel: 'warn', leaseSeconds: LEASE, chunkSize: CHUNK, ...settings });
  pipe.edit('models.ts', '  doubled: float(),\n', '  doubled: float(),\n  counter: integer().notNull().default(0),\n');
  pipe.edit('steps.ts', "import { Step } from 'corral';", "import fs from 'node:fs';\nimport { Step } from 'corral';");
  pipe.edit(
    'steps.ts',
    '  process(row: Example) {\n',
    body.async ? `  async process(row: Example) {\n    ${body.async}\n` : `  process(row: Example) {\n    ${body.sync ?? ''}\n    void fs;\n`,
  );
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  if (dialect === 'postgres') {
    await db.exec(`CREATE FUNCTION count_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.counter := OLD.counter + 1; RETURN NEW; END $$;
      CREATE TRIGGER count_commit BEFORE UPDATE OF processed ON "Example" FOR EACH ROW EXECUTE FUNCTION count_commit()`);
  } else {
    await db.exec(`CREATE TRIGGER count_commit AFTER UPDATE OF processed ON "Example" BEGIN UPDATE "Example" SET counter = counter + 1 WHERE id = NEW.id; END`);
  }
  await db.insertExamples(ROWS);
  return { pipe, db };
}

/** counter → how many rows have it. */
async function counters(db: PipelineDb): Promise<Record<number, number>> {
  const rows = await db.query<{ counter: number; n: string }>(`SELECT counter, count(*) AS n FROM "Example" GROUP BY counter ORDER BY counter`);
  return Object.fromEntries(rows.map((r) => [r.counter, Number(r.n)]));
}

/** 30 ms a row, in a synchronous busy loop (the event loop of the main thread stands still) or an awaited timer. */
const BUSY_30MS: Body = { sync: 'const until = Date.now() + 30;\n    while (Date.now() < until) { /* CPU-bound */ }' };
const TIMER_30MS: Body = { async: 'await new Promise((resolve) => setTimeout(resolve, 30));' };

forEachDatabase((dialect) => {
  const newDatabase = pgDatabasePerTest();

  for (const [what, body] of [
    ['a CPU-bound busy loop', BUSY_30MS],
    ['an awaited timer', TIMER_30MS],
  ] as const) {
    test(`when process() takes 30 ms a row in ${what}, chunks of ${CHUNK} sending no statement for 3 s against a ${LEASE} s lease, then one run processes all ${ROWS} rows once`, async () => {
      const { pipe, db } = await pipeline(dialect, newDatabase, body);
      const run = await pipe.cli(['run']);
      expectExit(run, 0);
      expect(summaryRows(run.stderr).MyStep, describeResult(run)).toEqual({ status: 'ok', rows: ROWS, failed: 0 });
      expect(run.stderr, describeResult(run)).not.toMatch(/stale|lease|heartbeat/i);
      expect(await counters(db)).toEqual({ 1: ROWS });
      const runs = await db.query<{ status: string; session: string | null }>(`SELECT status, session FROM corral_runs WHERE processor = 'MyStep'`);
      expect(runs.map((r) => r.status)).toEqual(['ok']);
      // PostgreSQL names the worker's sessions; SQLite needs no name (the OS frees a dead process's lock).
      if (dialect === 'postgres') expect(runs[0]!.session).toMatch(/^corral:[\w.-]+:\d+:[0-9a-f]{8}$/);
      else expect(runs[0]!.session).toBeNull();
    });
  }

  test('when corral_runs was created without the session column then runs and status work, PostgreSQL warns once to run createdb, and createdb adds the column', async () => {
    const { pipe, db } = await pipeline(dialect, newDatabase, {});
    await db.exec('ALTER TABLE corral_runs DROP COLUMN session');
    const run = await pipe.cli(['run']);
    expectExit(run, 0);
    expect(await counters(db)).toEqual({ 1: ROWS });
    const warning = "corral_runs has no column 'session' (the database was created by an older corral)";
    expect(run.stderr.split(warning).length - 1, describeResult(run)).toBe(dialect === 'postgres' ? 1 : 0);
    if (dialect === 'postgres') expect(run.stderr).toContain('Run `node in_corral.js createdb` to add the column.');
    expectExit(await pipe.cli(['status']), 0);

    const created = await pipe.cli(['createdb', '--noinput']);
    expectExit(created, 0);
    expect(created.stdout).toContain("Added corral's new columns: corral_runs.session\n");
    await db.insertExamples(10, ROWS + 1);
    const again = await pipe.cli(['run']);
    expectExit(again, 0);
    expect(again.stderr, describeResult(again)).not.toContain(warning);
    const [latest] = await db.query<{ session: string | null; rows_done: number }>(`SELECT session, rows_done FROM corral_runs ORDER BY id DESC LIMIT 1`);
    expect(Number(latest!.rows_done)).toBe(10);
    expect(latest!.session === null).toBe(dialect === 'sqlite');
    // A third createdb has nothing left to add.
    expect((await pipe.cli(['createdb', '--noinput'])).stdout).not.toContain('Added');
  });
});

describePg('a frozen worker (SIGSTOP mid-chunk, its rows locked)', () => {
  const newDatabase = pgDatabasePerTest();

  /**
   * MyStep freezes on row `freezeAt` the first time any run reaches it: writes its pid
   * to `marker`, then waits for `release`. Other rows take `msPerRow`.
   */
  function freezing(dir: string, freezeAt: number, msPerRow = 0, extra = ''): Body & { marker: string; release: string } {
    const marker = path.join(dir, 'frozen.pid');
    const release = path.join(dir, 'release');
    return {
      marker,
      release,
      async: `if (row.id === ${freezeAt} && !fs.existsSync(${JSON.stringify(marker)})) {
      fs.writeFileSync(${JSON.stringify(marker)}, String(process.pid));
      while (!fs.existsSync(${JSON.stringify(release)})) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    ${extra}
    ${msPerRow ? `await new Promise((resolve) => setTimeout(resolve, ${msPerRow}));` : ''}`,
    };
  }

  /** Starts `run`, waits for the worker to reach the barrier with its chunk in flight, and stops it. */
  async function startAndFreeze(pipe: ScaffoldedPipeline, db: PipelineDb, marker: string) {
    const frozenRun = startCommand(pipe, ['run']);
    await waitFor('the worker at its barrier', () => fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').length > 0, 60_000, 20);
    const pid = Number(fs.readFileSync(marker, 'utf8'));
    const [record] = await db.query<{ id: number; session: string; in_flight: number }>(`SELECT id, session, in_flight FROM corral_runs WHERE pid = ? AND status = 'running'`, [pid]);
    expect(record, 'the frozen worker has no running corral_runs row').toBeDefined();
    expect(Number(record!.in_flight)).toBeGreaterThan(0);
    process.kill(pid, 'SIGSTOP');
    stoppedPids.add(pid);
    return { frozenRun, pid, record: record! };
  }

  async function sessionsOf(db: PipelineDb, session: string): Promise<number> {
    const [row] = await db.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = ?', [session]);
    return Number(row!.n);
  }

  /** Waits, on the server's clock, until run `id`'s heartbeat is older than the lease. */
  async function waitStale(db: PipelineDb, id: number): Promise<void> {
    await waitFor(
      'the frozen worker heartbeat older than the lease',
      async () => (await db.count(`id = ${id} AND status = 'running' AND heartbeat_at < now() - interval '${LEASE} seconds'`, 'corral_runs')) === 1,
      60_000,
      50,
    );
  }

  /** Lets the frozen worker go on and waits for its command; it must blame no row. */
  async function thaw(frozen: { frozenRun: ReturnType<typeof startCommand>; pid: number }, release: string, db: PipelineDb) {
    fs.writeFileSync(release, '');
    process.kill(frozen.pid, 'SIGCONT');
    stoppedPids.delete(frozen.pid);
    const result = await frozen.frozenRun.result;
    expect(await db.count('true', 'corral_failures'), describeResult(result)).toBe(0);
    return result;
  }

  test('when its heartbeat is older than the lease then a second run ends its sessions and processes its rows exactly once', async () => {
    const dir = fs.mkdtempSync(path.join(tempDir(), 'barrier-'));
    const body = freezing(dir, 150);
    const { pipe, db } = await pipeline('postgres', newDatabase, body);
    const frozen = await startAndFreeze(pipe, db, body.marker);
    // Its second chunk (rows 101-200) is locked: a run now would skip it.
    expect(await db.count('processed')).toBe(CHUNK);
    await waitStale(db, frozen.record.id);

    const second = await pipe.cli(['run']);
    expectExit(second, 0);
    expect(second.stderr).toMatch(new RegExp(`Ended stale worker MyStep on \\S+, pid ${frozen.pid}, run #${frozen.record.id}: no heartbeat for more than ${LEASE} s; \\d+ session\\(s\\) terminated`));
    expect(summaryRows(second.stderr).MyStep).toEqual({ status: 'ok', rows: ROWS - CHUNK, failed: 0 });
    expect(await counters(db)).toEqual({ 1: ROWS });
    expect(await sessionsOf(db, frozen.record.session)).toBe(0);
    const [dead] = await db.query<{ status: string; error: string }>('SELECT status, error FROM corral_runs WHERE id = ?', [frozen.record.id]);
    expect(dead).toEqual({ status: 'dead', error: expect.stringContaining(`lease expired: no heartbeat for more than ${LEASE} s`) });

    const late = await thaw(frozen, body.release, db);
    // Woken up, it finds its session gone: a lost connection, nobody's row. It reconnects,
    // reads its chunk again, finds those rows done by the second run, and ends.
    expectExit(late, 0);
    expect(late.stderr).toMatch(/Lost its connection to postgres:\/\/\S+: terminating connection due to administrator command; the chunk was rolled back and no row is blamed/);
    expect(await counters(db)).toEqual({ 1: ROWS });
    const [after] = await db.query<{ status: string }>('SELECT status FROM corral_runs WHERE id = ?', [frozen.record.id]);
    expect(after!.status).toBe('dead');
  });

  test('when its heartbeat is older than the lease then status ends its sessions, shows it dead and no stale worker, and its rows are free', async () => {
    const dir = fs.mkdtempSync(path.join(tempDir(), 'barrier-'));
    const body = freezing(dir, 150);
    const { pipe, db } = await pipeline('postgres', newDatabase, body);
    const frozen = await startAndFreeze(pipe, db, body.marker);
    await waitStale(db, frozen.record.id);

    const status = await pipe.cli(['status', '--json']);
    expectExit(status, 0);
    const [myStep] = (JSON.parse(status.stdout) as { processor: string; staleWorkers: number; inFlight: number; lastRun: { status: string; pid: number } }[]).filter(
      (s) => s.processor === 'MyStep',
    );
    expect(myStep).toMatchObject({ staleWorkers: 0, inFlight: 0, lastRun: { status: 'dead', pid: frozen.pid } });
    expect(status.stderr).toContain(`Ended stale worker MyStep on`);
    expect(await sessionsOf(db, frozen.record.session)).toBe(0);
    // Nothing holds its rows any more: all 200 unprocessed rows can be locked at once.
    const [free] = await db.query<{ n: string }>('SELECT count(*) AS n FROM (SELECT id FROM "Example" WHERE NOT processed FOR UPDATE SKIP LOCKED) AS t');
    expect(Number(free!.n)).toBe(ROWS - CHUNK);

    await thaw(frozen, body.release, db);
    const rest = await pipe.cli(['run']);
    expectExit(rest, 0);
    expect(await counters(db)).toEqual({ 1: ROWS });
  });

  test('when one of two workers of a step freezes then its live peer ends it, with no other run or status', async () => {
    const dir = fs.mkdtempSync(path.join(tempDir(), 'barrier-'));
    const peerRelease = path.join(dir, 'peer-release');
    // Partition 0 (even ids) freezes on row 250; partition 1 waits on row 251 until the test saw the peer act.
    const body = freezing(
      dir,
      250,
      0,
      `if (row.id === 251) while (!fs.existsSync(${JSON.stringify(peerRelease)})) await new Promise((resolve) => setTimeout(resolve, 20));`,
    );
    const { pipe, db } = await pipeline('postgres', newDatabase, body, { procs: { MyStep: 2 } });
    const frozen = await startAndFreeze(pipe, db, body.marker);
    await waitFor('the frozen worker marked dead by its peer', async () => (await db.count(`id = ${frozen.record.id} AND status = 'dead'`, 'corral_runs')) === 1, 60_000, 50);
    // The peer claims the run (dead) first, then ends its sessions: wait for that state.
    await waitFor('the frozen worker sessions ended by its peer', async () => (await sessionsOf(db, frozen.record.session)) === 0, 60_000, 50);
    fs.writeFileSync(peerRelease, '');
    const late = await thaw(frozen, body.release, db);
    // The run's own summary: the peer's partition done, the frozen one failed.
    expect(late.stderr).toMatch(/Ended stale worker MyStep \(rows 0\/2\)/);
    const rest = await pipe.cli(['run']);
    expectExit(rest, 0);
    expect(await counters(db)).toEqual({ 1: ROWS });
    expect(await db.count('true', 'corral_failures')).toBe(0);
  });
});
