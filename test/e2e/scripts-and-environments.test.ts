/**
 * Issue 13 point 6 from the command line: `--json` on the listings and on the run
 * summary, no human summary on stderr when logs are JSON, CORRAL_CONNECTION and
 * DATABASE_URL in place of the `connection` setting (never of testConnection), and
 * colour only when wanted (NO_COLOR, FORCE_COLOR; the helpers' shell is a pipe).
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { configureSettings } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { createTestDatabase, describePg, pgQuery } from '../helpers/postgres.js';
import type { CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-scripts-');
let scaffold: ScaffoldedPipeline;
const ESC = '\x1b[';

beforeAll(async () => {
  scaffold = await createPipeline(tempDir(), 'envpipe');
}, 120_000);

interface Summary {
  outcome: string;
  exitCode: number;
  processors: {
    processor: string;
    kind: string;
    outcome: string;
    rows: number;
    failedRows: number;
    seconds: number;
    errors: { row: string | null; message: string; hint: string | null; attempts: number | null; quarantined: boolean | null }[];
  }[];
}

function summaryOf(result: CliResult): Summary {
  return JSON.parse(result.stdout) as Summary;
}

/** The lines of the human summary (`  ok          step   MyStep ...`). */
function humanSummaryLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /^ {2}(ok|ROWS FAILED|FAILED|STOPPED)\s/.test(line));
}

test('when lssteps, lsalerts and groups get --json then each prints one JSON document with stable fields and no table', async () => {
  const [steps, alerts, groups] = await Promise.all([scaffold.cli(['lssteps', '--json']), scaffold.cli(['lsalerts', '--json']), scaffold.cli(['groups', '--json'])]);
  for (const result of [steps, alerts, groups]) {
    expectExit(result, 0);
    expect(result.stdout).not.toContain('+--');
  }
  expect(JSON.parse(steps.stdout)).toEqual({ steps: [{ name: 'MyStep', groups: ['default'], procs: 1, chunkSize: 1000 }] });
  expect(JSON.parse(alerts.stdout)).toEqual({ alerts: [{ name: 'MyAlert', groups: ['default'], procs: 1, chunkSize: 1000 }] });
  expect(JSON.parse(groups.stdout)).toEqual({ steps: ['default'], alerts: ['default'] });
  // A group that selects nothing is an empty list, not the "NO STEPS FOUND" line.
  const none = await scaffold.cli(['lssteps', '--json', '-g', 'default']);
  expectExit(none, 0);
  expect(JSON.parse(none.stdout)).toEqual({ steps: [{ name: 'MyStep', groups: ['default'], procs: 1, chunkSize: 1000 }] });
}, 120_000);

test('when load, run, check-alerts and run-all get --json then stdout is one document with each processor and stderr has no summary', async () => {
  const pipe = copyPipeline(scaffold, tempDir(), 'json-runs');
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);

  const load = await pipe.cli(['load', '--json']);
  expectExit(load, 0);
  expect(humanSummaryLines(load.stderr)).toEqual([]);
  expect(summaryOf(load)).toMatchObject({ outcome: 'ok', exitCode: 0, processors: [{ processor: 'Loader', kind: 'loader', outcome: 'ok', rows: 3, failedRows: 0, errors: [] }] });
  expect(summaryOf(load).processors[0]!.seconds).toBeGreaterThanOrEqual(0);

  // A row that throws: the run goes on, the document says which row and why.
  pipe.edit('steps.ts', '    row.doubled = row.value * 2;', "    if (row.value === 2) throw new Error('value 2 is refused');\n    row.doubled = row.value * 2;");
  const run = await pipe.cli(['run', '--sync', '--json']);
  expectExit(run, 1);
  expect(humanSummaryLines(run.stderr)).toEqual([]);
  expect(run.stderr).not.toMatch(/^Error: MyStep failed on row/m);
  const step = summaryOf(run);
  expect(step).toMatchObject({ outcome: 'rows-failed', exitCode: 1 });
  expect(step.processors).toHaveLength(1);
  expect(step.processors[0]).toMatchObject({ processor: 'MyStep', kind: 'step', outcome: 'rows-failed', rows: 2, failedRows: 1 });
  expect(step.processors[0]!.errors).toEqual([{ row: 'id=2', message: 'value 2 is refused', hint: null, attempts: 1, quarantined: false }]);

  const alerts = await pipe.cli(['check-alerts', '--sync', '--json']);
  expectExit(alerts, 0);
  expect(summaryOf(alerts).processors).toEqual([expect.objectContaining({ processor: 'MyAlert', kind: 'alert', outcome: 'ok', rows: 2 })]);

  const all = await pipe.cli(['run-all', '--sync', '--json']);
  expectExit(all, 0);
  expect(humanSummaryLines(all.stderr)).toEqual([]);
  expect(summaryOf(all).processors.map((p) => [p.processor, p.outcome])).toEqual([
    ['Loader', 'ok'],
    ['MyStep', 'ok'],
    ['MyAlert', 'ok'],
  ]);
  // Without --json the same summary is for people, on stderr, and stdout stays empty.
  const human = await pipe.cli(['run', '--sync']);
  expectExit(human, 0);
  expect(human.stdout).toBe('');
  expect(humanSummaryLines(human.stderr)).toEqual([expect.stringMatching(/^ {2}ok\s+step\s+MyStep\s+0 rows/)]);
}, 240_000);

test('when logs are JSON then every line on stderr is a JSON object and the summary is one record of them', async () => {
  const pipe = copyPipeline(scaffold, tempDir(), 'json-logs');
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  const result = await pipe.cli(['--log-format', 'json', 'run-all', '--sync']);
  expectExit(result, 0);
  expect(result.stdout).toBe('');
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  const records = lines.map((line) => JSON.parse(line) as { msg: string; summary?: Summary });
  const summaries = records.filter((r) => r.summary !== undefined);
  expect(summaries).toHaveLength(1);
  expect(summaries[0]!.msg).toBe('Run summary: ok');
  expect(summaries[0]!.summary!.processors.map((p) => [p.processor, p.rows])).toEqual([
    ['Loader', 3],
    ['MyStep', 3],
    ['MyAlert', 3],
  ]);
}, 120_000);

test('when CORRAL_CONNECTION or DATABASE_URL is set then it replaces the connection setting, CORRAL_CONNECTION first, and prompts name it', async () => {
  const pipe = copyPipeline(scaffold, tempDir(), 'env-connection');
  const both = { CORRAL_CONNECTION: 'sqlite:from-corral.db', DATABASE_URL: 'sqlite:from-database-url.db' };
  expectExit(await pipe.cli(['createdb', '--noinput'], both), 0);
  expect(fs.existsSync(path.join(pipe.root, 'from-corral.db'))).toBe(true);
  expect(fs.existsSync(path.join(pipe.root, 'from-database-url.db'))).toBe(false);
  expect(fs.existsSync(pipe.dbFile)).toBe(false);

  const load = await pipe.cli(['load'], { DATABASE_URL: 'sqlite:from-database-url.db' });
  // DATABASE_URL alone is used: that database has no tables yet, and the error says which one it is.
  expect(load.code).not.toBe(0);
  expect(load.stderr).toContain(path.join(pipe.root, 'from-database-url.db'));
  expect(fs.existsSync(pipe.dbFile)).toBe(false);

  const asked = await pipe.cli(['createdb'], { ...both, CORRAL_CONNECTION: undefined, DATABASE_URL: 'sqlite:from-database-url.db' });
  expect(asked.stderr).toContain(`in sqlite:${path.join(pipe.root, 'from-database-url.db')} (from DATABASE_URL)?`);
  // Unset (or empty), the settings' connection is back.
  expectExit(await pipe.cli(['createdb', '--noinput'], { CORRAL_CONNECTION: '', DATABASE_URL: '' }), 0);
  expect(fs.existsSync(pipe.dbFile)).toBe(true);
}, 120_000);

test('when CORRAL_CONNECTION is no database URL then one error names the variable and the fix, and its password is not shown', async () => {
  const result = await scaffold.cli(['status'], { CORRAL_CONNECTION: 'mysql://admin:s3cret-pw@db.example/prod' });
  expectExit(result, 1);
  expect(result.stderr).toContain("Error: Environment variable CORRAL_CONNECTION is not a database URL: 'mysql://admin:***@db.example/prod'");
  expect(result.stderr).toContain('unset CORRAL_CONNECTION to use the connection of the settings');
  expect(result.stderr + result.stdout).not.toContain('s3cret-pw');
}, 60_000);

test('when a variable sets the production database then tests still get a database of their own, and a testConnection equal to it is refused', async () => {
  const pipe = copyPipeline(scaffold, tempDir(), 'env-tests');
  const tests = await pipe.cli(['test'], { DATABASE_URL: 'sqlite:production.db' });
  expectExit(tests, 0);
  // The tests ran on throw-away databases: the production file was never opened or created.
  expect(fs.existsSync(path.join(pipe.root, 'production.db'))).toBe(false);

  configureSettings(pipe, { testConnection: 'sqlite:production.db' });
  const refused = await pipe.cli(['test'], { CORRAL_CONNECTION: 'sqlite:production.db' });
  expectExit(refused, 1);
  expect(refused.stderr).toContain('testConnection points at the production database');
  expect(fs.existsSync(path.join(pipe.root, 'production.db'))).toBe(false);
}, 240_000);

test('when colour is wanted (FORCE_COLOR) then tables, help and the run summary are coloured; NO_COLOR and a pipe get plain text', async () => {
  const pipe = copyPipeline(scaffold, tempDir(), 'colours');
  const forced = { FORCE_COLOR: '1', NO_COLOR: undefined };
  const [table, help, plainTable, refused] = await Promise.all([
    pipe.cli(['lssteps'], forced),
    pipe.cli(['--help'], forced),
    pipe.cli(['lssteps']),
    pipe.cli(['lssteps'], { FORCE_COLOR: '1', NO_COLOR: '1' }),
  ]);
  expect(table.stdout).toContain(`${ESC}1mStep Class`);
  expect(help.stdout).toContain(`${ESC}1mUsage:`);
  for (const plain of [plainTable, refused]) {
    expectExit(plain, 0);
    expect(plain.stdout + plain.stderr).not.toContain(ESC);
  }
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  const run = await pipe.cli(['run-all', '--sync'], forced);
  expectExit(run, 0);
  expect(run.stderr).toContain(`${ESC}32mok`);
  const plainRun = await pipe.cli(['run-all', '--sync']);
  expect(plainRun.stderr).not.toContain(ESC);
}, 180_000);

describePg('PostgreSQL through DATABASE_URL', () => {
  test('when DATABASE_URL names a PostgreSQL database with a password then the pipeline works there and the password is never shown', async () => {
    const database = await createTestDatabase();
    try {
      const url = new URL(database.url);
      url.password = 'hunter2-secret';
      const pipe = copyPipeline(scaffold, tempDir(), 'env-pg');
      const env = { DATABASE_URL: url.toString() };
      const results = [await pipe.cli(['createdb', '--noinput'], env), await pipe.cli(['run-all', '--sync'], env), await pipe.cli(['createdb'], env)];
      expectExit(results[0]!, 0);
      expectExit(results[1]!, 0);
      expect(results[2]!.stderr).toContain('(from DATABASE_URL)?');
      for (const result of results) expect(result.stdout + result.stderr).not.toContain('hunter2-secret');
      const rows = await pgQuery<{ n: string }>(database.url, 'select count(*) as n from "Example" where processed');
      expect(Number(rows[0]!.n)).toBe(3);
      expect(fs.existsSync(pipe.dbFile)).toBe(false);
    } finally {
      await database.drop();
    }
  }, 180_000);
});
