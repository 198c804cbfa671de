/**
 * Issue 11, point 3, from the command line on PostgreSQL: a lost connection is
 * nobody's row. MyStep increments Example.counter in SQL in its chunk (addCounter), so
 * a row committed twice shows 2. Row 5 waits in `process` at a barrier: it writes
 * `waiting` and waits for `go`, which the test creates once it has broken the
 * worker's connection (only the first time: the chunk read again passes through).
 * With maxAttempts 1, a row blamed for the loss would be quarantined for good.
 *
 * The faults: `pg_terminate_backend` on the worker's session (found by the
 * application_name corral sets and records in corral_runs.session); a network error and a server that
 * turns connections away for a while, through a loopback TCP proxy in front of the
 * shared server (test/helpers/tcp-proxy.ts); and a server that stays away.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { addCounter, configureSettings, summaryRows, usePipelineDb, waitFor, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, startCommand, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { describePg, pgDatabasePerTest } from '../helpers/postgres.js';
import { describeResult, type CliResult } from '../helpers/run-cli.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-connlost-');
let scaffold: ScaffoldedPipeline | undefined;
let copies = 0;
const open: { close(): Promise<void> }[] = [];

const ROWS = 20;

function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.startsWith('Error:'));
}

/** Lines of knex or pg printed around corral's logger (corral's lines start with `[`). */
function foreignConnectionLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => /Connection Error|Connection terminated|ECONNRESET|ECONNREFUSED/.test(line) && !line.startsWith('[') && !line.startsWith('Error: '));
}

describePg('postgres', () => {
  const newDatabase = pgDatabasePerTest();
  afterEach(async () => {
    for (const handle of open.splice(0)) await handle.close();
  });

  beforeAll(async () => {
    scaffold ??= await createPipeline(tempDir(), 'lostpipe');
  });

  /** A pipeline on a database of its own (through `proxy` if given), ROWS rows, row 5 at the barrier. */
  async function pipeline(settings: Record<string, unknown>, proxy?: TcpProxy): Promise<{ pipe: ScaffoldedPipeline; db: PipelineDb; barrier: { waiting: string; go: string } }> {
    const pipe = copyPipeline(scaffold!, tempDir(), `lostpipe-${++copies}`);
    const database = await newDatabase();
    const db = usePipelineDb(pipe, 'postgres', database);
    open.push(db);
    if (proxy) pipe.edit('settings.ts', `connection: '${database.url}'`, `connection: '${proxy.url(database.url)}'`);
    const barrier = { waiting: path.join(pipe.root, 'waiting'), go: path.join(pipe.root, 'go') };
    configureSettings(pipe, { logLevel: 'warn', chunkSize: 10, maxAttempts: 1, retryDelaySeconds: 0, barrier, ...settings });
    addCounter(
      pipe,
      `const barrier = this.settings.barrier as { waiting: string; go: string };
    if (row.id === 5 && !existsSync(barrier.go)) {
      writeFileSync(barrier.waiting, '');
      while (!existsSync(barrier.go)) await new Promise((resolve) => setTimeout(resolve, 20));
    }`,
    );
    pipe.edit('steps.ts', "import { Step } from 'corral';", "import { existsSync, writeFileSync } from 'node:fs';\nimport { Step } from 'corral';");
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    await db.insertExamples(ROWS);
    return { pipe, db, barrier };
  }

  async function counters(db: PipelineDb): Promise<Record<number, number>> {
    const rows = await db.query<{ counter: number; n: string }>('SELECT counter, count(*) AS n FROM "Example" GROUP BY counter ORDER BY counter');
    return Object.fromEntries(rows.map((r) => [r.counter, Number(r.n)]));
  }

  async function expectNobodyBlamed(db: PipelineDb): Promise<void> {
    expect(await db.query('SELECT processor, model_key, error FROM corral_failures')).toEqual([]);
  }

  test('when the worker session is ended with pg_terminate_backend while a row is processed then the chunk is read again on a new connection, every row is done once, and no row is blamed', async () => {
    const { pipe, db, barrier } = await pipeline({});
    const run = startCommand(pipe, ['run']);
    await waitFor('row 5 at the barrier', () => fs.existsSync(barrier.waiting), 60_000, 20);
    const [worker] = await db.query<{ session: string }>(`SELECT session FROM corral_runs WHERE processor = 'MyStep' AND status = 'running'`);
    expect(worker, 'the worker of MyStep is not in corral_runs').toBeDefined();
    const ended = await db.query<{ ended: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = ? AND state = 'idle in transaction'`,
      [worker!.session],
    );
    expect(ended).toEqual([{ ended: true }]);
    fs.writeFileSync(barrier.go, '');
    const result = await run.result;
    expectExit(result, 0);
    expect(summaryRows(result.stderr).MyStep).toEqual({ status: 'ok', rows: ROWS, failed: 0 });
    expect(result.stderr).toMatch(/^\[lostpipe WARN [\d:]+\] MyStep: Lost its connection to postgres:\/\/[^ ]+: .+; the chunk was rolled back and no row is blamed; trying again in 0\.25 s/m);
    expect(foreignConnectionLines(result), describeResult(result)).toEqual([]);
    expect(await counters(db)).toEqual({ 1: ROWS });
    await expectNobodyBlamed(db);
    expect(await db.query(`SELECT status, rows_done FROM corral_runs WHERE processor = 'MyStep'`)).toEqual([{ status: 'ok', rows_done: ROWS }]);
  });

  test('when the network fails and the server then turns connections away for a while then the worker reconnects with backoff and finishes, each row once, no row blamed', async () => {
    const proxy = await startTcpProxy(5432);
    open.push(proxy);
    const { pipe, db, barrier } = await pipeline({ logLevel: 'info' }, proxy);
    const run = startCommand(pipe, ['run']);
    await waitFor('row 5 at the barrier', () => fs.existsSync(barrier.waiting), 60_000, 20);
    await proxy.down('reset');
    fs.writeFileSync(barrier.go, '');
    // Three: the heartbeat of corral_runs may try twice before the chunk's own attempt.
    await waitFor('three connection attempts turned away', () => proxy.turnedAway >= 3, 60_000, 20);
    await proxy.up();
    const result = await run.result;
    expectExit(result, 0);
    expect(summaryRows(result.stderr).MyStep).toEqual({ status: 'ok', rows: ROWS, failed: 0 });
    expect(foreignConnectionLines(result), describeResult(result)).toEqual([]);
    expect(result.stderr).toMatch(/MyStep: Lost its connection to postgres:\/\/\S*127\.0\.0\.1:\d+\/\S+: .+; trying again in 0\.5 s/);
    expect(await counters(db)).toEqual({ 1: ROWS });
    await expectNobodyBlamed(db);
  });

  test('when the server stays out of reach then the step gives up after reconnectSeconds with one line naming the database and the cause, and no row is blamed', async () => {
    const proxy = await startTcpProxy(5432);
    open.push(proxy);
    const { pipe, db, barrier } = await pipeline({ reconnectSeconds: 2 }, proxy);
    const run = startCommand(pipe, ['run']);
    await waitFor('row 5 at the barrier', () => fs.existsSync(barrier.waiting), 60_000, 20);
    await proxy.down('refuse');
    fs.writeFileSync(barrier.go, '');
    const result = await run.result;
    expectExit(result, 1);
    expect(summaryRows(result.stderr).MyStep?.status, describeResult(result)).toBe('FAILED');
    expect(errorLines(result)).toEqual([
      expect.stringMatching(/^Error: MyStep lost its connection to postgres:\/\/\S*127\.0\.0\.1:\d+\/\S+: .*ECONNREFUSED.* \(gave up after \d+ attempts in \d+ s\)$/),
    ]);
    expect(foreignConnectionLines(result), describeResult(result)).toEqual([]);
    await proxy.up();
    expect(await counters(db)).toEqual({ 0: ROWS });
    await expectNobodyBlamed(db);
  });
});
