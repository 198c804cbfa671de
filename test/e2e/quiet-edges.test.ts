/**
 * Issue 11, point 9: the edges of a run end quietly.
 * - A worker whose runner is killed with SIGKILL (its IPC channel closes) finishes
 *   its chunk, records its run `stopped` and exits without a stack (it printed
 *   ERR_IPC_DISCONNECTED); what it logs after that still reaches the runner's stderr. The barrier: the step waits on its 6th row (its second
 *   chunk, the first one committed) until the runner is gone.
 * - Output into a closed pipe (`| head`) is dropped without an EPIPE stack, and the
 *   command, workers included, does its work and exits with its own code. The pipe
 *   is closed before the command writes anything, so the write always fails.
 * `status` showing dead workers is in status-check.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { configureSettings, pipelineOnDatabase, waitFor } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, startCommand, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { describeResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-quiet-');
let scaffold: ScaffoldedPipeline | undefined;
const STACK_LINE = /^\s+at /m;

forEachDatabase((dialect) => {
  const on = pipelineOnDatabase(dialect, async () => {
    scaffold ??= await createPipeline(tempDir(), 'quietpipe');
    return copyPipeline(scaffold, tempDir(), `quietpipe-${dialect}`);
  });
  let waiting: string;

  beforeAll(async () => {
    const { pipe } = on;
    waiting = path.join(pipe.root, 'waiting-for-orphaning');
    configureSettings(pipe, { chunkSize: 5, logLevel: 'warn' });
    pipe.edit('steps.ts', "import { Step } from 'corral';", "import fs from 'node:fs';\nimport { Step } from 'corral';");
    pipe.edit(
      'steps.ts',
      '  process(row: Example) {\n',
      `  async process(row: Example) {
    if (row.id === 6 && process.env.QUIET_BARRIER) {
      fs.writeFileSync(${JSON.stringify(waiting)}, String(process.pid));
      // The barrier: this worker's runner is gone (its IPC channel closed) before the row goes on.
      const until = Date.now() + 60_000;
      while (process.connected) {
        if (Date.now() > until) throw new Error('barrier: the runner was not killed within 60 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setImmediate(resolve));
      this.logger.warn('orphaned worker goes on with row 6');
    }
`,
    );
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  });

  test('when the runner is killed with SIGKILL while its worker is in a chunk then the worker finishes that chunk, records its run stopped and exits without a stack', async () => {
    const { pipe, db } = on;
    await db.insertExamples(20);
    const run = startCommand(pipe, ['run'], { env: { QUIET_BARRIER: '1' } });
    await waitFor('the worker in its second chunk', () => fs.existsSync(waiting), 60_000, 20);
    expect(await db.count('processed')).toBe(5);
    run.kill('SIGKILL');
    // Resolves once every holder of the run's stdout and stderr is gone: the orphaned worker too.
    const result = await run.result;
    const worker = Number(fs.readFileSync(waiting, 'utf8'));
    await waitFor('the orphaned worker to exit', () => {
      try {
        process.kill(worker, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(result.stderr, describeResult(result)).not.toContain('ERR_IPC');
    expect(result.stderr, describeResult(result)).not.toMatch(STACK_LINE);
    // What it logs once orphaned still reaches the stderr the runner had.
    expect(result.stderr, describeResult(result)).toContain('orphaned worker goes on with row 6');
    expect(await db.count('processed')).toBe(10);
    expect(await db.query(`SELECT pid, status, rows_done FROM corral_runs WHERE processor = 'MyStep'`)).toEqual([{ pid: worker, status: 'stopped', rows_done: 10 }]);
  });

  test.skipIf(dialect === 'postgres')('when standard output is a closed pipe then lssteps, status and failures end quietly with their own exit code', async () => {
    for (const args of [['lssteps'], ['status'], ['status', '--json'], ['failures']]) {
      const command = startCommand(on.pipe, args);
      command.child.stdout.destroy();
      const result = await command.result;
      expect(result.stderr, `${args.join(' ')}: ${describeResult(result)}`).toBe('');
      expect(result.code).toBe(0);
    }
  });

  test.skipIf(dialect === 'postgres')('when standard error is a closed pipe then run-all, its workers and its logs included, does all its work and exits 0', async () => {
    const { pipe, db } = on;
    await db.exec('DELETE FROM "Example"');
    await db.insertExamples(30);
    const command = startCommand(pipe, ['run-all', '--log-level', 'info']);
    command.child.stderr.destroy();
    const result = await command.result;
    expect(result.code, describeResult(result)).toBe(0);
    // The scaffold's loader adds its exampleRows (3) to the 30.
    expect(await db.count('NOT processed')).toBe(0);
    expect(await db.count('true')).toBe(33);
    expect(await db.count('true', 'corral_alerted')).toBe(33);
  });
});
