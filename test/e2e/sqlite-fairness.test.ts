/**
 * Issue 11, point 4: on SQLite, commands beside a long step get the write lock within
 * a few of its chunks (they wait in turn, not asleep in SQLite's busy handler), their
 * runs are recorded while the step holds the lock between chunks, and an idle `shell`
 * holds no lock. Driven as a user drives them: `node in_corral.js ...` processes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { configureSettings, usePipelineDb, waitFor, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, startCommand, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { cleanEnv } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-fair-');
let scaffold: ScaffoldedPipeline | undefined;
let copies = 0;

beforeAll(async () => {
  scaffold ??= await createPipeline(tempDir(), 'fairpipe');
});

/** A copy of the scaffold whose MyStep busy-waits `msPerRow` per row, synchronously, inside its chunk. */
async function pipeline(settings: Record<string, unknown>, msPerRow: number): Promise<{ pipe: ScaffoldedPipeline; db: PipelineDb }> {
  const pipe = copyPipeline(scaffold!, tempDir(), `fairpipe-${++copies}`);
  const db = usePipelineDb(pipe, 'sqlite');
  configureSettings(pipe, { logLevel: 'warn', ...settings });
  pipe.edit(
    'steps.ts',
    '  process(row: Example) {\n',
    `  process(row: Example) {\n    const until = Date.now() + ${msPerRow};\n    while (Date.now() < until) {\n      // CPU-bound work, holding the write lock\n    }\n`,
  );
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  return { pipe, db };
}

interface RunRow {
  processor: string;
  status: string;
  rows_done: number;
}

const runsOf = (db: PipelineDb, processor: string) => db.query<RunRow>('SELECT processor, status, rows_done FROM corral_runs WHERE processor = ? ORDER BY id', [processor]);

describe('sqlite', () => {
  test('when a step with 400 ms chunks runs then check-alerts and load started beside it finish while it runs, and their runs are recorded', async () => {
    const { pipe, db } = await pipeline({ chunkSize: 2 }, 200);
    // Far more work than the test lasts (1000 rows × 200 ms): the step is stopped at the end.
    await db.insertExamples(1000);
    const step = startCommand(pipe, ['run']);
    await waitFor('the step to commit a chunk', async () => (await db.count('processed')) >= 2);
    const before = await db.count('processed');
    const [alerts, load] = await Promise.all([startCommand(pipe, ['check-alerts']).result, startCommand(pipe, ['load']).result]);
    const after = await db.count('processed');
    expectExit(alerts, 0);
    expectExit(load, 0);
    // The step is still at work: its run is `running`, most rows are left.
    expect((await runsOf(db, 'MyStep')).map((r) => r.status)).toEqual(['running']);
    expect(await db.count('NOT processed AND id <= 1000')).toBeGreaterThan(500);
    expect((await runsOf(db, 'MyAlert')).map((r) => r.status)).toEqual(['ok']);
    expect((await runsOf(db, 'Loader')).map((r) => ({ status: r.status, rows: r.rows_done }))).toEqual([{ status: 'ok', rows: 3 }]);
    // What was alerted is what the step had processed by then.
    expect(fs.readFileSync(path.join(pipe.root, 'my_alert.log'), 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(before);
    const spans = await db.query<{ processor: string; ms: number }>("SELECT processor, ended_at - started_at AS ms FROM corral_runs WHERE processor <> 'MyStep'");
    console.log(
      `[fairness] while the step committed ${(after - before) / 2} chunks of 400 ms, check-alerts and load started, ran and finished; ` +
        spans.map((s) => `${s.processor} from its first lock to its end: ${s.ms} ms`).join(', '),
    );
    step.kill('SIGTERM');
    const stopped = await step.result;
    expectExit(stopped, 130);
    expect((await runsOf(db, 'MyStep')).map((r) => r.status)).toEqual(['stopped']);
    expect(fs.existsSync(`${pipe.dbFile}-corral-queue`), 'the wait queue folder is removed when nobody waits').toBe(false);
    expect(fs.existsSync(`${pipe.dbFile}-corral-turn`), 'the turn file is removed when its owner exits').toBe(false);
  });

  test('when a shell sits at its prompt, even after a read, then a run beside it finishes; its write later waits its turn and is committed', async () => {
    const { pipe, db } = await pipeline({ chunkSize: 10 }, 0);
    await db.insertExamples(50);
    const shell = spawn(process.execPath, ['in_corral.js', 'shell'], { cwd: pipe.root, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    shell.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    shell.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const exited = new Promise<number>((resolve) => shell.on('close', (code) => resolve(code ?? -1)));
    try {
      shell.stdin.write("(await db('Example').count({ n: '*' }))[0].n\n");
      await waitFor('the shell to answer the read', () => /fairpipe> 50\n/.test(out), 60_000);
      const run = await startCommand(pipe, ['run']).result;
      expectExit(run, 0);
      expect(await db.count('processed')).toBe(50);
      shell.stdin.write("await db('Example').insert({ name: 'from-shell', value: 1 })\n");
      shell.stdin.end('.exit\n');
      expect(await exited, `shell: ${out}\n${err}`).toBe(0);
      expect(err).toContain('Committed.');
      expect(await db.count("name = 'from-shell'")).toBe(1);
    } finally {
      shell.kill('SIGKILL');
    }
  });
});
