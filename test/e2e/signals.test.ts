/**
 * Issue 11, point 5: signals always work. A stop asked while a command waits for
 * SQLite's write lock ends it at once (exit 130, nothing written to the tables; since
 * issue 13 the run is recorded `stopped-waiting` in a file beside the database, which
 * `runs` lists and the next run moves into corral_runs); a stop asked
 * during a CPU-bound chunk takes effect at the end of that chunk; a worker the runner
 * has to SIGKILL leaves no corral_runs row `running`. Driven as a user drives them.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { configureSettings, usePipelineDb, waitFor, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, startCommand, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase, pgDatabasePerTest } from '../helpers/postgres.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-signals-');
let scaffold: ScaffoldedPipeline | undefined;
let copies = 0;
const open: PipelineDb[] = [];

beforeAll(async () => {
  scaffold ??= await createPipeline(tempDir(), 'sigpipe');
});

const statuses = async (db: PipelineDb, processor: string) =>
  (await db.query<{ status: string }>('SELECT status FROM corral_runs WHERE processor = ? ORDER BY id', [processor])).map((r) => r.status);

/**
 * MyStep's first row spins (synchronously: signals cannot be handled meanwhile) until
 * the file `go` exists, after writing `spinning`; the other rows pass at once.
 */
function spinningStep(pipe: ScaffoldedPipeline): { spinning: string; go: string } {
  const spinning = path.join(pipe.root, 'spinning');
  const go = path.join(pipe.root, 'go');
  pipe.edit('steps.ts', "import { Step } from 'corral';", "import fs from 'node:fs';\nimport { Step } from 'corral';");
  pipe.edit(
    'steps.ts',
    '  process(row: Example) {\n',
    `  process(row: Example) {
    if (!fs.existsSync(${JSON.stringify(go)})) {
      fs.writeFileSync(${JSON.stringify(spinning)}, '');
      while (!fs.existsSync(${JSON.stringify(go)})) {
        // CPU-bound: the event loop does not turn
      }
    }
`,
  );
  return { spinning, go };
}

forEachDatabase((dialect) => {
  const newDatabase = pgDatabasePerTest();
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
  });

  async function pipeline(settings: Record<string, unknown>): Promise<{ pipe: ScaffoldedPipeline; db: PipelineDb }> {
    const pipe = copyPipeline(scaffold!, tempDir(), `sigpipe-${++copies}`);
    const db = usePipelineDb(pipe, dialect, dialect === 'postgres' ? await newDatabase() : undefined);
    open.push(db);
    configureSettings(pipe, { logLevel: 'warn', ...settings });
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    return { pipe, db };
  }

  test('when SIGTERM comes during a CPU-bound chunk then that chunk commits, no other starts, the run exits 130 and is recorded stopped', async () => {
    const { pipe, db } = await pipeline({ chunkSize: 5 });
    const { spinning, go } = spinningStep(pipe);
    await db.insertExamples(50);
    const run = startCommand(pipe, ['run'], { group: true });
    await waitFor('the first chunk to spin', () => fs.existsSync(spinning));
    // Delivered to both processes now (as a service manager stops a process group);
    // the worker handles it only when its chunk lets the event loop turn.
    run.killGroup('SIGTERM');
    fs.writeFileSync(go, '');
    const result = await run.result;
    expectExit(result, 130);
    expect(await db.count('processed'), 'exactly the chunk in flight is committed').toBe(5);
    expect(await statuses(db, 'MyStep')).toEqual(['stopped']);
  });

  test('when the runner SIGKILLs a worker on the second signal then its corral_runs row is not left running', async () => {
    const { pipe, db } = await pipeline({ chunkSize: 5 });
    const { spinning } = spinningStep(pipe);
    await db.insertExamples(20);
    const run = startCommand(pipe, ['run']);
    await waitFor('the first chunk to spin', () => fs.existsSync(spinning));
    await waitFor('the run to be recorded', async () => (await statuses(db, 'MyStep')).length === 1);
    // To the runner only: it sends SIGTERM to the spinning worker, which cannot act on it.
    run.kill('SIGTERM');
    await waitFor('the runner to pass the signal on', () => /Received SIGTERM/.test(run.stderr()));
    run.kill('SIGTERM');
    const result = await run.result;
    expectExit(result, 130);
    expect(result.stderr).toContain('stopped before reporting (killed by SIGKILL)');
    expect(await db.count('processed')).toBe(0);
    expect(await statuses(db, 'MyStep')).toEqual(['stopped']);
  });

  // The runner asks its workers to stop with a message: a worker still starting Node
  // has no handler yet, and a SIGTERM would kill it before it could record its run.
  // The signal path does not depend on the database: SQLite only.
  test.skipIf(dialect === 'postgres')('when the run gets SIGTERM while one of its workers is still starting then that worker still records its run stopped', async () => {
    const { pipe, db } = await pipeline({ chunkSize: 5, procs: { MyStep: 2 } });
    const { spinning, go } = spinningStep(pipe);
    // Preloaded into every process of the command: the second worker process to start
    // holds still (no JavaScript of its own has run, as in Node's start) until `go`.
    const first = path.join(pipe.root, 'first-worker');
    const holding = path.join(pipe.root, 'holding');
    const preload = path.join(pipe.root, 'hold-second-worker.cjs');
    fs.writeFileSync(
      preload,
      `const fs = require('node:fs');
if (process.send) {
  try {
    fs.writeFileSync(${JSON.stringify(first)}, '', { flag: 'wx' });
  } catch {
    fs.writeFileSync(${JSON.stringify(holding)}, '');
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (!fs.existsSync(${JSON.stringify(go)})) Atomics.wait(nap, 0, 0, 10);
  }
}
`,
    );
    await db.insertExamples(20);
    const run = startCommand(pipe, ['run'], { env: { NODE_OPTIONS: `--require ${preload}` } });
    // One worker spins in its first chunk (the runner is running, its signal handlers in place), the other is held.
    await waitFor('one worker to spin and the other to be held', () => fs.existsSync(spinning) && fs.existsSync(holding));
    run.kill('SIGTERM');
    await waitFor('the runner to pass the stop on', () => /Received SIGTERM/.test(run.stderr()));
    fs.writeFileSync(go, '');
    const result = await run.result;
    expectExit(result, 130);
    expect(result.stderr).not.toContain('stopped before reporting');
    // Both workers recorded their run: the spinning one after its chunk, the held one as soon as it could.
    expect((await statuses(db, 'MyStep')).sort()).toEqual(['stopped', 'stopped']);
    expect(await db.count('processed'), 'exactly the chunk in flight is committed').toBe(5);
  });

  describe.skipIf(dialect !== 'sqlite')('waiting for the SQLite write lock', () => {
    for (const [label, args, signals] of [
      ['load gets Ctrl-C', ['load'], 1],
      ['load gets Ctrl-C twice', ['load'], 2],
      ['run-all --sync (loader in the same process) gets Ctrl-C twice', ['run-all', '--sync'], 2],
    ] as const) {
      test(`when ${label} while another process holds the lock then it exits 130 at once, writes nothing to the tables and records the run stopped-waiting beside them`, async () => {
        const { pipe, db } = await pipeline({});
        // The process that runs the loader says when it has opened its environment (and
        // whether it is a forked worker); it needs the lock next, to record its run.
        const opened = path.join(pipe.root, 'opened');
        pipe.edit('pipeline.ts', "import { PipelineSetup } from 'corral';", "import fs from 'node:fs';\nimport { PipelineSetup } from 'corral';");
        pipe.edit('pipeline.ts', 'override setup(): void {}', `override setup(): void {\n    fs.appendFileSync(${JSON.stringify(opened)}, process.send ? 'child\\n' : 'main\\n');\n  }`);
        const before = await db.snapshot();
        const holder = new Database(pipe.dbFile);
        holder.exec('BEGIN IMMEDIATE');
        try {
          const load = startCommand(pipe, args, { group: true });
          // `load` runs its one loader in its own process, as run-all --sync does.
          await waitFor('the loader process to open its environment', () => fs.existsSync(opened) && fs.readFileSync(opened, 'utf8').includes('main'));
          // And to wait in line for the lock (its queue entry): its signal handlers are in place by then.
          const queue = `${pipe.dbFile}-corral-queue`;
          await waitFor('the loader process to wait for the lock', () => fs.existsSync(queue) && fs.readdirSync(queue).length > 0);
          for (let i = 0; i < signals; i++) load.killGroup('SIGINT');
          // The lock is still held: on the old code this waited for it (300 s) and then exited 0.
          const result = await load.result;
          expectExit(result, 130);
          expect(result.stderr).not.toMatch(/^\s+at /m);
        } finally {
          holder.exec('ROLLBACK');
          holder.close();
        }
        // It never got the lock: not a row written (a run that got it would be `stopped`).
        expect(await db.snapshot()).toEqual(before);
        // Yet the run is not lost: it waits beside the database, and `runs` (a read) lists it.
        const listed = await pipe.cli(['runs', '--json']);
        expectExit(listed, 0);
        expect(JSON.parse(listed.stdout)).toEqual([
          expect.objectContaining({ id: null, processor: 'Loader', outcome: 'stopped-waiting', rows: 0, failedRows: 0, error: expect.stringMatching(/^Stopped while waiting for the write lock of /) }),
        ]);
        if (signals === 1 && args[0] === 'load') {
          // The next run that gets the lock writes it into corral_runs, with its own times.
          expectExit(await pipe.cli(['load']), 0);
          const byStart = await db.query<{ status: string }>("SELECT status FROM corral_runs WHERE processor = 'Loader' ORDER BY started_at");
          expect(byStart.map((r) => r.status)).toEqual(['stopped-waiting', 'ok']);
          expect(fs.existsSync(`${pipe.dbFile}-corral-runs`), 'the folder goes once empty').toBe(false);
        }
      });
    }
  });
});
