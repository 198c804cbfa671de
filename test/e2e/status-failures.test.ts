/**
 * Issue 5 from the command line, on SQLite and on PostgreSQL: a poison row is
 * retried on the next runs, quarantined after maxAttempts and listed by `failures`;
 * `failures --retry` and `--clear`; `status` shows the backlog, the failed rows and
 * the last run. Every other row is done on every run.
 *
 * Each command costs a process start (~2-3 s here), so SQLite runs the flow and the
 * JSON outputs (where stored values are read back), and PostgreSQL also the tables
 * and --retry/--clear; test/run/failures.test.ts covers their SQL on both databases
 * and test/cli/main.test.ts the argument checks.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { configureSettings, summaryRows, usePipelineDb, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/postgres.js';
import type { CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-status-');
let scaffold: ScaffoldedPipeline | undefined;

async function scaffoldOnce(): Promise<ScaffoldedPipeline> {
  scaffold ??= await createPipeline(tempDir(), 'statpipe');
  return scaffold;
}

interface StatusJson {
  processor: string;
  kind: string;
  backlog: number | null;
  inFlight: number;
  staleWorkers: number;
  retrying: number;
  quarantined: number;
  lastRun: { startedAt: string; endedAt: string | null; status: string; rows: number; failedRows: number; host: string; pid: number } | null;
}

interface FailureJson {
  processor: string;
  table: string;
  key: string;
  attempts: number;
  quarantined: boolean;
  firstAt: string;
  lastAt: string;
  nextAt: string;
  error: string;
  stack: string | null;
}

function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.startsWith('Error:'));
}

/** The data rows of a rendered table: cells trimmed. */
function tableRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(1)
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
}

forEachDatabase((dialect) => {
  let pipe: ScaffoldedPipeline;
  let db: PipelineDb;
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    pipe = copyPipeline(await scaffoldOnce(), tempDir(), `statpipe-${dialect}`);
    if (dialect === 'postgres') database = await createTestDatabase();
    db = usePipelineDb(pipe, dialect, database);
    configureSettings(pipe, { chunkSize: 10, retryDelaySeconds: 0, maxAttempts: 2, logLevel: 'warn' });
    pipe.edit('steps.ts', '    row.doubled = row.value * 2;', '    if (row.id === 13) throw new Error(`poison row ${row.id}`);\n    row.doubled = row.value * 2;');
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    await db.insertExamples(40);
  });

  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  async function status(): Promise<Record<string, StatusJson>> {
    const result = await pipe.cli(['status', '--json']);
    expectExit(result, 0);
    return Object.fromEntries((JSON.parse(result.stdout) as StatusJson[]).map((s) => [s.processor, s]));
  }

  async function failuresJson(): Promise<FailureJson[]> {
    const result = await pipe.cli(['failures', '--json']);
    expectExit(result, 0);
    return JSON.parse(result.stdout) as FailureJson[];
  }

  test('when nothing has run yet then status shows every matching row as backlog and no run', async () => {
    const table = await pipe.cli(['status']);
    expectExit(table, 0);
    expect(table.stdout).toMatch(/^\| Processor \| Kind +\| Backlog \| In flight \| Retrying \| Quarantined \| Last run \(UTC\) \|$/m);
    expect(tableRows(table.stdout)).toEqual([
      ['Loader', 'loader', '-', '0', '0', '0', 'never'],
      ['MyStep', 'step', '40', '0', '0', '0', 'never'],
      ['MyAlert', 'alert', '0', '0', '0', '0', 'never'],
    ]);
  });

  test('when a row keeps throwing then it is retried on the next run, quarantined at its 2nd attempt (maxAttempts), and every other row is done each time', async () => {
    const outcomes: { code: number; errors: string[]; myStep: unknown }[] = [];
    for (let runNo = 1; runNo <= 3; runNo++) {
      // Five new rows before each later run: they are done whatever row 13 does.
      if (runNo > 1) await db.insertExamples(5, 40 + 5 * (runNo - 2) + 1);
      const result = await pipe.cli(runNo % 2 === 0 ? ['run', '--sync'] : ['run']);
      outcomes.push({ code: result.code, errors: errorLines(result), myStep: summaryRows(result.stderr).MyStep });
    }
    expect(outcomes).toEqual([
      { code: 1, errors: ['Error: MyStep failed on row id=13: poison row 13 (attempt 1; retried on a later run)'], myStep: { status: 'ROWS FAILED', rows: 39, failed: 1 } },
      { code: 1, errors: ['Error: MyStep failed on row id=13: poison row 13 (attempt 2; quarantined: see `failures`)'], myStep: { status: 'ROWS FAILED', rows: 5, failed: 1 } },
      { code: 0, errors: [], myStep: { status: 'ok', rows: 5, failed: 0 } },
    ]);
    expect(await db.ids('NOT processed')).toEqual([13]);
    expect(await db.count('processed AND doubled = 2 * value')).toBe(49);
  });

  test('when failures lists the quarantined row then --json names the step, the row, the attempts and the error', async () => {
    const [failure, ...more] = await failuresJson();
    expect(more).toEqual([]);
    expect(failure).toMatchObject({ processor: 'MyStep', table: 'Example', key: '13', attempts: 2, quarantined: true, error: 'poison row 13' });
    expect(failure!.stack).toMatch(/^Error: poison row 13\n\s+at MyStep\.process/);
    expect(Date.parse(failure!.firstAt)).toBeLessThan(Date.parse(failure!.lastAt));
    expect(Date.parse(failure!.nextAt)).toBeGreaterThanOrEqual(Date.parse(failure!.lastAt));
  });

  if (dialect === 'postgres') {
    test('when failures lists the quarantined row then the table (and --stack) shows it', async () => {
      const table = await pipe.cli(['failures', '--stack', '-p', 'MyStep']);
      expectExit(table, 0);
      const [row, ...others] = tableRows(table.stdout);
      expect(others).toEqual([]);
      expect(row!.slice(0, 4)).toEqual(['MyStep', 'Example 13', '2', 'quarantined']);
      expect(row![4]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(row![5]).toBe('poison row 13');
      expect(table.stdout).toMatch(/\nMyStep Example 13:\nError: poison row 13\n\s+at MyStep\.process/);
    });
  }

  test('when the quarantined row is there then status shows it, an empty backlog for the step, the alert backlog and the last run', async () => {
    const json = await status();
    expect(json.MyStep).toMatchObject({ backlog: 0, inFlight: 0, staleWorkers: 0, retrying: 0, quarantined: 1 });
    expect(json.MyStep!.lastRun).toMatchObject({ status: 'ok', rows: 5, failedRows: 0 });
    expect(Date.parse(json.MyStep!.lastRun!.endedAt!)).toBeGreaterThanOrEqual(Date.parse(json.MyStep!.lastRun!.startedAt));
    // The alert has not run: every processed row waits for it.
    expect(json.MyAlert).toMatchObject({ backlog: 49, quarantined: 0, lastRun: null });
    expect(json.Loader).toMatchObject({ backlog: null, lastRun: null });
    if (dialect === 'postgres') {
      const table = await pipe.cli(['status']);
      const myStep = tableRows(table.stdout).find((row) => row[0] === 'MyStep')!;
      expect(myStep.slice(0, 6)).toEqual(['MyStep', 'step', '0', '0', '0', '1']);
      expect(myStep[6]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ok 5 rows$/);
    }
  });

  if (dialect === 'postgres') {
    test('when failures --retry runs then the quarantined row gets one more attempt, and after --clear it starts again at attempt 1', async () => {
      const retry = await pipe.cli(['failures', '--retry']);
      expectExit(retry, 0);
      expect(retry.stdout).toBe('1 failed row(s) will be retried on the next run\n');
      expect(await db.query('SELECT attempts, quarantined FROM corral_failures')).toEqual([{ attempts: 2, quarantined: false }]);
      const retried = await pipe.cli(['run', '--sync']);
      expectExit(retried, 1);
      expect(errorLines(retried)).toEqual(['Error: MyStep failed on row id=13: poison row 13 (attempt 3; quarantined: see `failures`)']);

      const cleared = await pipe.cli(['failures', '--clear']);
      expectExit(cleared, 0);
      expect(cleared.stdout).toBe('1 failure record(s) cleared\n');
      const none = await pipe.cli(['failures']);
      expect(none.stdout).toBe('No failed rows.\n');
      const fresh = await pipe.cli(['run']);
      expectExit(fresh, 1);
      expect(errorLines(fresh)).toEqual(['Error: MyStep failed on row id=13: poison row 13 (attempt 1; retried on a later run)']);
      expect(await db.query('SELECT model_key, attempts, quarantined FROM corral_failures')).toEqual([{ model_key: '13', attempts: 1, quarantined: false }]);
    });
  }
});
