/**
 * Issue 11, points 9 and 10, from the command line on SQLite and PostgreSQL:
 * `status` shows a worker whose process is gone as dead, not in flight, and
 * `status --check`, the monitor's command, prints nothing and exits 0 when all is
 * well, and one line per problem with exit 1 when rows are quarantined, a worker is
 * dead, or a processor's last run failed. The step misbehaves on request
 * (environment variables the test passes to the command): a poison row, a row that
 * blocks until its run (runner and worker) is killed with SIGKILL, a setup that throws.
 * (Stale workers: test/run/status-check.test.ts.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { configureSettings, pipelineOnDatabase, waitFor } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, startCommand, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { describeResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-check-');
let scaffold: ScaffoldedPipeline | undefined;

interface CheckJson {
  ok: boolean;
  problems: { processor: string; problem: string; message: string }[];
}

forEachDatabase((dialect) => {
  const on = pipelineOnDatabase(dialect, async () => {
    scaffold ??= await createPipeline(tempDir(), 'checkpipe');
    return copyPipeline(scaffold, tempDir(), `checkpipe-${dialect}`);
  });
  let blocked: string;

  beforeAll(async () => {
    const { pipe } = on;
    blocked = path.join(pipe.root, 'blocked-worker');
    configureSettings(pipe, { chunkSize: 5, maxAttempts: 1, retryDelaySeconds: 0, logLevel: 'warn' });
    pipe.edit('steps.ts', "import { Step } from 'corral';", "import fs from 'node:fs';\nimport { Step } from 'corral';");
    pipe.edit(
      'steps.ts',
      '  process(row: Example) {\n',
      `  override setup() {
    if (process.env.CHECK_SETUP_FAILS) throw new Error('setup refused');
  }

  async process(row: Example) {
    if (row.id === 3 && process.env.CHECK_POISON) throw new Error('poison row 3');
    if (row.id === 11 && process.env.CHECK_BLOCK) {
      fs.writeFileSync(${JSON.stringify(blocked)}, String(process.pid));
      // Held here until the test kills this worker with SIGKILL.
      await new Promise((resolve) => setTimeout(resolve, 60_000));
      throw new Error('barrier: this worker was not killed within 60 s');
    }
`,
    );
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    await on.db.insertExamples(10);
  });

  async function check(): Promise<{ code: number; lines: string[] }> {
    const result = await on.pipe.cli(['status', '--check']);
    expect(result.stderr, describeResult(result)).toBe('');
    return { code: result.code, lines: result.stdout.split('\n').filter(Boolean) };
  }

  test('when nothing is wrong then status --check prints nothing and exits 0', async () => {
    expect(await check()).toEqual({ code: 0, lines: [] });
  });

  test('when a row is quarantined then status --check names the step and the row count and exits 1 (--json too), and after the row is done it is healthy again', async () => {
    const { pipe } = on;
    expectExit(await pipe.cli(['run'], { CHECK_POISON: '1' }), 1);
    expect(await check()).toEqual({ code: 1, lines: ["MyStep: 1 row quarantined (see 'failures MyStep'; 'failures --retry' after fixing)"] });
    const json = await pipe.cli(['status', '--check', '--json']);
    expectExit(json, 1);
    expect(JSON.parse(json.stdout) as CheckJson).toMatchObject({ ok: false, problems: [{ processor: 'MyStep', problem: 'quarantined' }] });

    expectExit(await pipe.cli(['failures', '--retry']), 0);
    expectExit(await pipe.cli(['run']), 0);
    expect(await check()).toEqual({ code: 0, lines: [] });
  });

  test('when a run and its worker are killed with SIGKILL mid-chunk then status shows it dead (not in flight) and status --check says so', async () => {
    const { pipe, db } = on;
    await db.insertExamples(10, 11);
    const run = startCommand(pipe, ['run'], { env: { CHECK_BLOCK: '1' }, group: true });
    await waitFor('the worker holding row 11', () => fs.existsSync(blocked), 60_000, 20);
    // The runner and its worker at once, as the OOM killer or `kill -9` of the job would:
    // a worker killed alone is marked failed by its runner, so nobody is left here to
    // say how it ended, and its corral_runs row still says running.
    run.killGroup('SIGKILL');
    expect((await run.result).code).toBe(-1);

    const json = await pipe.cli(['status', '--json']);
    expectExit(json, 0);
    const myStep = (JSON.parse(json.stdout) as { processor: string }[]).find((s) => s.processor === 'MyStep');
    expect(myStep).toMatchObject({ inFlight: 0, staleWorkers: 0, deadWorkers: 1 });
    const table = await pipe.cli(['status']);
    expect(table.stdout).toMatch(/^\| MyStep +\| step +\| 10 +\| 0 \(1 dead\) +\|/m);
    expect(await check()).toEqual({ code: 1, lines: ['MyStep: 1 worker marked running whose process is gone (killed or crashed; its chunk was rolled back)'] });
  });

  test("when a processor's last run failed then status --check says which and why, beside the dead worker", async () => {
    const { pipe } = on;
    const failed = await pipe.cli(['run'], { CHECK_SETUP_FAILS: '1' });
    expectExit(failed, 1);
    const { code, lines } = await check();
    expect(code).toBe(1);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('MyStep: 1 worker marked running whose process is gone (killed or crashed; its chunk was rolled back)');
    expect(lines[1]).toMatch(/^MyStep: last run failed at \d{4}-\d\d-\d\dT[\d:.]+Z: MyStep failed: setup refused$/);
  });
});
