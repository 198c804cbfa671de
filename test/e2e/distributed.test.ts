/**
 * Issue 5, several workers on one database (PostgreSQL: rows claimed with FOR
 * UPDATE SKIP LOCKED; SQLite: writers take turns on the file), driven as a user
 * drives them: `node in_corral.js run` processes of a scaffolded pipeline, started
 * at once, killed with SIGKILL, stopped with SIGTERM. Each test works in a database
 * of its own. MyStep increments Example.counter in SQL inside its chunk, so a row
 * committed twice shows counter 2 and a row of a rolled-back chunk counter 0.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { addStartBarrier, barrierArrivals, barrierEnv } from '../helpers/barrier.js';
import { addCounter, configureSettings, summaryRows, usePipelineDb, waitFor, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, startCommand, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase, pgDatabasePerTest } from '../helpers/postgres.js';
import { describeResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-dist-');
let scaffold: ScaffoldedPipeline | undefined;
let copies = 0;
const open: PipelineDb[] = [];

/** A stored time (a Date on PostgreSQL, milliseconds on SQLite) in milliseconds. */
const millis = (value: unknown) => (value instanceof Date ? value.getTime() : Number(value));

forEachDatabase((dialect) => {
  const newDatabase = pgDatabasePerTest();
  // Registered after the database's hook, so it runs before it: the pool closes, then the database goes.
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
  });

  beforeAll(async () => {
    scaffold ??= await createPipeline(tempDir(), 'distpipe');
  });

  /** A fresh copy of the scaffold on a database of its own, MyStep counting its commits. */
  async function pipeline(settings: Record<string, unknown>, slowMs = 0): Promise<{ pipe: ScaffoldedPipeline; db: PipelineDb }> {
    const pipe = copyPipeline(scaffold!, tempDir(), `distpipe-${++copies}`);
    const db = usePipelineDb(pipe, dialect, dialect === 'postgres' ? await newDatabase() : undefined);
    open.push(db);
    configureSettings(pipe, { logLevel: 'warn', ...settings });
    addCounter(pipe, slowMs ? `await new Promise((resolve) => setTimeout(resolve, ${slowMs}));` : '');
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    return { pipe, db };
  }

  /** counter → how many rows have it. */
  async function counters(db: PipelineDb, where = 'true'): Promise<Record<number, number>> {
    const rows = await db.query<{ counter: number; n: string }>(`SELECT counter, count(*) AS n FROM "Example" WHERE ${where} GROUP BY counter ORDER BY counter`);
    return Object.fromEntries(rows.map((r) => [r.counter, Number(r.n)]));
  }

  /** The ids of partition `index` of 2 (id % 2), ascending, and which of them are processed. */
  async function partition(db: PipelineDb, index: number): Promise<{ all: number[]; processed: number[] }> {
    return { all: await db.ids(`id % 2 = ${index}`), processed: await db.ids(`id % 2 = ${index} AND processed`) };
  }

  /** Processed rows of a partition are its first N rows, N a whole number of chunks. */
  function expectWholeChunks(part: { all: number[]; processed: number[] }, chunkSize: number): void {
    expect(part.processed.length % chunkSize, `${part.processed.length} rows processed in the partition: not whole chunks of ${chunkSize}`).toBe(0);
    expect(part.processed).toEqual(part.all.slice(0, part.processed.length));
  }

  // PostgreSQL: the 100,000 rows (CORRAL_TEST_DIST_ROWS makes it smaller for
  // quick local runs). SQLite, whose writers take turns on the file, gets 5,000.
  const rows = dialect === 'postgres' ? Number(process.env.CORRAL_TEST_DIST_ROWS ?? 100_000) : 5_000;

  test(`when three run processes with procs 2 work on the same ${rows.toLocaleString('en-US')} rows then every row is committed exactly once`, async () => {
    const { pipe, db } = await pipeline({ chunkSize: 1000, procs: { MyStep: 2 } });
    // The six workers overlap by construction: none takes a row before all six have started.
    addStartBarrier(pipe, 'steps.ts', 'MyStep');
    const barrier = path.join(pipe.root, 'barrier');
    const env = barrierEnv(barrier, 6);
    await db.insertExamples(rows);
    const started = Date.now();
    const results = await Promise.all([1, 2, 3].map(() => startCommand(pipe, ['run'], { env }).result));
    const seconds = (Date.now() - started) / 1000;
    for (const result of results) expectExit(result, 0);
    expect(await counters(db)).toEqual({ 1: rows });
    expect(await db.count('NOT processed OR doubled IS NULL OR doubled <> 2 * value')).toBe(0);
    // What the three runs say they did adds up to every row, once.
    const reported = results.map((r) => summaryRows(r.stderr).MyStep);
    expect(reported.map((r) => r?.status)).toEqual(['ok', 'ok', 'ok']);
    expect(reported.reduce((n, r) => n + r!.rows, 0)).toBe(rows);
    // Six workers, two per run, each on its half of the rows; all six passed the barrier, so they overlapped.
    const runs = await db.query<{ pid: number; partition: string; status: string; rows_done: number; started_at: unknown; ended_at: unknown }>(
      `SELECT pid, partition, status, rows_done, started_at, ended_at FROM corral_runs WHERE processor = 'MyStep' ORDER BY id`,
    );
    expect(runs.map((r) => r.partition).sort()).toEqual(['0/2', '0/2', '0/2', '1/2', '1/2', '1/2']);
    expect(runs.every((r) => r.status === 'ok')).toBe(true);
    expect(runs.reduce((n, r) => n + Number(r.rows_done), 0)).toBe(rows);
    expect(barrierArrivals(barrier).sort(), 'every worker that ran reached the start barrier').toEqual(runs.map((r) => Number(r.pid)).sort());
    // What the barrier guarantees, as the run records show it: every worker started before any ended.
    const firstEnd = Math.min(...runs.map((r) => millis(r.ended_at)));
    const lastStart = Math.max(...runs.map((r) => millis(r.started_at)));
    expect(lastStart).toBeLessThan(firstEnd);
    console.info(`distributed (${dialect}): 3 runs x 2 processes, ${rows} rows in ${seconds.toFixed(1)} s`);
    // The heaviest test of the suite (six workers on 100,000 rows): ~25 s on a quiet machine,
    // several times that on a loaded one. It asserts no time; the limit only catches a hang.
  }, 600_000);

  // One pipeline through three runs (each command costs a few seconds of process start):
  // a worker killed with SIGKILL, then a run stopped with SIGTERM, then a run that finishes.
  test('when a worker is killed with SIGKILL and a later run gets SIGTERM then no chunk is half-written, both runs say what happened, and the last run does the rest exactly once', async () => {
    const chunkSize = 50;
    const total = 2000;
    const { pipe, db } = await pipeline({ chunkSize, procs: { MyStep: 2 }, leaseSeconds: 2 }, 2);
    await db.insertExamples(total);

    // 1. SIGKILL to the worker of partition 0 once two of its chunks are committed.
    const killedRun = startCommand(pipe, ['run']);
    await waitFor('two chunks of partition 0', async () => (await db.count('processed AND id % 2 = 0')) >= 2 * chunkSize, 60_000, 50);
    const [victim] = await db.query<{ pid: number }>(`SELECT pid FROM corral_runs WHERE processor = 'MyStep' AND status = 'running' AND partition = '0/2'`);
    expect(victim, 'the worker of partition 0 is not in corral_runs').toBeDefined();
    process.kill(victim!.pid, 'SIGKILL');
    const killed = await killedRun.result;
    expectExit(killed, 1);
    expect(killed.stderr).toContain('Error: MyStep (process 1 of 2) stopped before reporting (killed by SIGKILL); its chunk in flight was rolled back\n');
    expect(killed.stderr).toContain('Its rows are processed by the next run');
    expect(summaryRows(killed.stderr).MyStep?.status, describeResult(killed)).toBe('FAILED');
    // Never committed twice; the killed worker's rows come in whole chunks: its chunk in flight left no trace.
    expect(Object.keys(await counters(db)).sort()).toEqual(['0', '1']);
    const afterKill = await partition(db, 0);
    expectWholeChunks(afterKill, chunkSize);
    const left = afterKill.all.length - afterKill.processed.length;
    expect(left).toBeGreaterThan(0);
    expect(await counters(db, 'NOT processed')).toEqual({ 0: left });
    // The other worker finished its half.
    const survivor = await partition(db, 1);
    expect(survivor.processed).toEqual(survivor.all);

    // 2. The runner ended the killed worker's run record (it died without reporting), and its rows are backlog again.
    const [victimRun] = await db.query<{ status: string; error: string }>(`SELECT status, error FROM corral_runs WHERE pid = ?`, [victim!.pid]);
    expect(victimRun).toMatchObject({ status: 'failed', error: expect.stringContaining('killed by SIGKILL') as unknown });
    await sleep(2500);
    const status = await pipe.cli(['status', '--json']);
    expectExit(status, 0);
    const myStep = (JSON.parse(status.stdout) as { processor: string; staleWorkers: number; backlog: number }[]).find((s) => s.processor === 'MyStep')!;
    expect(myStep).toMatchObject({ staleWorkers: 0, backlog: left });

    // 3. SIGTERM to a run (the parent) once it has committed another chunk: the chunks in flight finish, and it stops.
    const stoppedRun = startCommand(pipe, ['run']);
    await waitFor('another chunk of partition 0', async () => (await db.count('processed AND id % 2 = 0')) > afterKill.processed.length, 60_000, 50);
    stoppedRun.kill('SIGTERM');
    const stopped = await stoppedRun.result;
    expectExit(stopped, 130);
    expect(stopped.stderr).toContain('Received SIGTERM: finishing the chunks in flight, then stopping');
    expect(stopped.stderr).toContain('Interrupted: committed chunks are kept; run again to continue.');
    const stoppedStats = summaryRows(stopped.stderr).MyStep!;
    expect(stoppedStats.status).toBe('STOPPED');
    expect(Object.keys(await counters(db)).sort()).toEqual(['0', '1']);
    const afterStop = await partition(db, 0);
    expectWholeChunks(afterStop, chunkSize);
    expect(afterStop.processed.length - afterKill.processed.length).toBe(stoppedStats.rows);
    expect(afterStop.processed.length).toBeLessThan(afterStop.all.length);
    // The second run's worker of partition 0 stopped; the one of partition 1 had nothing left (ok, or stopped if it was still
    // starting: stopped-waiting when the signal came while it waited for SQLite's write lock, and then, when the lock
    // was still taken as it ended, its run waits beside the database for the next run to move it into corral_runs).
    // Read as `runs` lists them, both places, oldest first.
    const listed = await pipe.cli(['runs', '--json']);
    expectExit(listed, 0);
    const runs = (JSON.parse(listed.stdout) as { processor: string; pid: number; partition: string; outcome: string }[])
      .filter((r) => r.processor === 'MyStep' && r.pid !== victim!.pid)
      .reverse()
      .map((r) => ({ partition: r.partition, status: r.outcome }));
    expect(runs).toHaveLength(3);
    expect(runs[0]).toEqual({ partition: '1/2', status: 'ok' });
    expect(runs.slice(1).find((r) => r.partition === '0/2')).toEqual({ partition: '0/2', status: 'stopped' });
    expect(['ok', 'stopped', 'stopped-waiting']).toContain(runs.slice(1).find((r) => r.partition === '1/2')?.status);

    // 4. The next run does what is left, each row once.
    const last = await pipe.cli(['run']);
    expectExit(last, 0);
    expect(summaryRows(last.stderr).MyStep).toEqual({ status: 'ok', rows: afterStop.all.length - afterStop.processed.length, failed: 0 });
    expect(await counters(db)).toEqual({ 1: total });
  });
  // A terminal's Ctrl-C sends SIGINT to the whole process group: the run and the
  // workers it forked. The signal path does not depend on the database: SQLite only.
  test.skipIf(dialect === 'postgres')('when Ctrl-C sends SIGINT to the run and its workers then they finish their chunks in flight and stop, and the next run does the rest', async () => {
    const chunkSize = 50;
    const total = 2000;
    const { pipe, db } = await pipeline({ chunkSize, procs: { MyStep: 2 } }, 2);
    await db.insertExamples(total);
    const run = startCommand(pipe, ['run'], { group: true });
    await waitFor('a committed chunk in each partition', async () => (await db.count('processed AND id % 2 = 0')) > 0 && (await db.count('processed AND id % 2 = 1')) > 0, 60_000, 50);
    run.killGroup('SIGINT');
    const result = await run.result;
    expectExit(result, 130);
    expect(result.stderr).toContain('Received SIGINT: finishing the chunks in flight, then stopping');
    expect(result.stderr).not.toContain('stopped before reporting');
    const stopped = summaryRows(result.stderr).MyStep!;
    expect(stopped.status, describeResult(result)).toBe('STOPPED');
    let done = 0;
    for (const index of [0, 1]) {
      const part = await partition(db, index);
      expectWholeChunks(part, chunkSize);
      done += part.processed.length;
    }
    expect(done).toBe(stopped.rows);
    expect(done).toBeLessThan(total);
    const again = await pipe.cli(['run']);
    expectExit(again, 0);
    expect(summaryRows(again.stderr).MyStep).toEqual({ status: 'ok', rows: total - done, failed: 0 });
    expect(await counters(db)).toEqual({ 1: total });
  });
});
