/**
 * `node in_corral.js test` on the QA fixture pipeline: which TestCases run, in which
 * order and on which database. Each run writes its outcome with `--report-json`
 * (what coverage and qareport read) so the assertions name every test exactly.
 * The suite and the selection flags run with the default test database (a temporary
 * SQLite file per test) and with a PostgreSQL `connection` and `testConnection`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { pgLeftovers, pipelineOnDatabase, setTestConnection } from '../helpers/pipeline-db.js';
import { expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { describePg, forEachDatabase, pgDatabaseForFile, pgQuery, type Dialect } from '../helpers/postgres.js';
import { copyQaPipeline, errorLines, runTestsWithOutcome, testNamesIn, type TestOutcomeJson } from '../helpers/qa-pipeline.js';
import { describeResult, type CliResult } from '../helpers/run-cli.js';
import { snapshotDb } from '../helpers/sqlite.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-qatest-');

/** The fixture's TestCases by subject, in the order they run (subjects first seen, then export names). */
const ALL_TESTS = {
  Clean: ['CleanAfterLoaderTest', 'CleanTest'],
  CountCommand: ['CountCommandTest'],
  HighAlert: ['HighAlertTest'],
  Loader: ['LoaderTest'],
  Scale: ['ScaleIsolationFirstTest', 'ScaleIsolationSecondTest', 'ScaleTest'],
} as const;
type Subject = keyof typeof ALL_TESTS;

const runTests = (pipe: ScaffoldedPipeline, args: readonly string[]) => runTestsWithOutcome(pipe, args, tempDir());
const namesIn = testNamesIn;
const testsOf = (...subjects: Subject[]) => subjects.flatMap((s) => [...ALL_TESTS[s]]).sort();

/**
 * A copy of the fixture in `<folder>-<dialect>`; on PostgreSQL its `connection` and its
 * `testConnection` are two databases of this file.
 */
function onDatabase(dialect: Dialect, folder: string): { readonly pipe: ScaffoldedPipeline; readonly db: ReturnType<typeof pipelineOnDatabase>['db']; readonly testUrl: string | undefined } {
  const on = pipelineOnDatabase(dialect, () => copyQaPipeline(tempDir(), { folder: `${folder}-${dialect}` }));
  const testDatabase = pgDatabaseForFile();
  let testUrl: string | undefined;
  beforeAll(async () => {
    if (dialect === 'postgres') {
      testUrl = (await testDatabase()).url;
      setTestConnection(on.pipe, testUrl);
    }
  });
  return {
    get pipe() {
      return on.pipe;
    },
    get db() {
      return on.db;
    },
    get testUrl() {
      return testUrl;
    },
  };
}

forEachDatabase((dialect) => {
  describe('the whole suite', () => {
    const on = onDatabase(dialect, 'whole');
    let run: { result: CliResult; outcome: TestOutcomeJson };

    beforeAll(async () => {
      run = await runTests(on.pipe, ['-v']);
    });

    test('when every TestCase passes then all 8 run, in subject order, and the exit code is 0', () => {
      expectExit(run.result, 0);
      expect(run.outcome.tests.map((t) => `${t.subject} > ${t.name}`)).toEqual(
        Object.entries(ALL_TESTS).flatMap(([subject, names]) => names.map((name) => `${subject} > ${name}`)),
      );
      expect(namesIn(run.outcome, 'passed')).toHaveLength(8);
      expect(run.outcome).toMatchObject({ passed: 8, failed: 0, skipped: 0 });
      // -v lists every test for the user.
      for (const name of testsOf('Clean', 'CountCommand', 'HighAlert', 'Loader', 'Scale')) expect(run.result.stdout + run.result.stderr).toContain(name);
    });

    test("when a TestCase saved a row then the next TestCase's stream does not hold it (a fresh database each)", () => {
      // ScaleIsolationFirstTest saves an 'isolation-marker' row; ScaleIsolationSecondTest, run right
      // after it, fails in setup() if that row, or any row, is in its stream.
      const order = run.outcome.tests.map((t) => t.name);
      expect(order.indexOf('ScaleIsolationSecondTest')).toBe(order.indexOf('ScaleIsolationFirstTest') + 1);
      expect(run.outcome.tests.find((t) => t.name === 'ScaleIsolationFirstTest')?.state).toBe('passed');
      expect(run.outcome.tests.find((t) => t.name === 'ScaleIsolationSecondTest')?.state).toBe('passed');
    });

    test("when a TestCase has runBefore = [LoaderTest] then the loader's rows are in the stream before its own setup", () => {
      // CleanAfterLoaderTest's setup() asserts the loader's 4 uncleaned rows are there, then adds one;
      // validate() finds all 5 cleaned.
      expect(run.outcome.tests.find((t) => t.name === 'CleanAfterLoaderTest')).toMatchObject({ state: 'passed', errors: [] });
    });

    test('when tests run then the production database is neither created nor touched, and the test database is left empty', async () => {
      if (dialect === 'sqlite') expect(fs.existsSync(on.pipe.dbFile)).toBe(false);
      else {
        expect(await on.db.tables()).toEqual([]);
        expect(await pgLeftovers(on.testUrl!)).toEqual([]);
      }
    });
  });

  describe('selection flags', () => {
    const on = onDatabase(dialect, 'selection');

    test.each([
      ['-s Scale', ['-s', 'Scale'], ['Loader', 'Scale', 'HighAlert', 'CountCommand']],
      ['-es', ['-es'], ['Loader', 'HighAlert', 'CountCommand']],
      ['-el', ['-el'], ['Clean', 'Scale', 'HighAlert', 'CountCommand']],
      ['-ea', ['-ea'], ['Loader', 'Clean', 'Scale', 'CountCommand']],
      ['-sg prep -ec', ['-sg', 'prep', '-ec'], ['Loader', 'Clean', 'HighAlert']],
    ] as const)("when test gets %s then only the selected subjects' tests run and the others are skipped", async (label, args, subjects) => {
      const { result, outcome } = await runTests(on.pipe, args);
      expectExit(result, 0);
      const selected = testsOf(...subjects);
      const others = testsOf(...(Object.keys(ALL_TESTS) as Subject[]).filter((s) => !(subjects as readonly string[]).includes(s)));
      expect(namesIn(outcome, 'passed').sort()).toEqual(selected);
      expect(namesIn(outcome, 'skipped').sort()).toEqual(others);
      expect(outcome.failed).toBe(0);
      if (label === '-el') {
        // The loader's own test is skipped, but CleanAfterLoaderTest's runBefore = [LoaderTest]
        // fixture still runs the loader first (its setup() asserts the 4 loaded rows).
        expect(namesIn(outcome, 'passed')).toContain('CleanAfterLoaderTest');
      }
    });

    test('when a step name is unknown then it is one error line suggesting the closest step, before any test runs', async () => {
      const result = await on.pipe.cli(['test', '-s', 'Scal']);
      expectExit(result, 1);
      expect(errorLines(result)).toEqual(["Error: Unknown step 'Scal'. (Did you mean Scale?)"]);
      expect(result.stdout).toBe('');
      expect(result.stderr).not.toContain('LoaderTest');
      expect(result.stderr).not.toContain('pipeline.test.js');
    });
  });
});

describe('a subject that is not registered', () => {
  test('when a TestCase tests a step the settings do not register then it is reported as a failure naming the step, not skipped', async () => {
    const pipe = copyQaPipeline(tempDir(), { folder: 'unregistered', tests: 'unregistered' });
    const { result, outcome } = await runTests(pipe, []);
    expectExit(result, 1);
    expect(outcome.tests).toEqual([
      { name: 'LoaderTest', subject: 'Loader', state: 'passed', errors: [] },
      {
        name: 'OrphanTest',
        subject: 'Orphan',
        state: 'failed',
        errors: ['OrphanTest tests Orphan, which is not registered in the settings (loader, steps, alerts or commands)'],
      },
    ]);
    expect(result.stdout + result.stderr).toContain('OrphanTest tests Orphan, which is not registered in the settings');
  });
});

describe('testConnection', () => {
  test('when testConnection names the production database then test refuses before anything runs, and the data is kept', async () => {
    const pipe = copyQaPipeline(tempDir(), { folder: 'prodguard' });
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    expectExit(await pipe.cli(['load']), 0);
    const before = snapshotDb(pipe.dbFile);
    expect(before.Reading).toHaveLength(4);
    // The same file as connection ('sqlite:qapipe-dev.db'), spelt differently.
    pipe.edit('settings.ts', "  connection: 'sqlite:qapipe-dev.db',", "  connection: 'sqlite:qapipe-dev.db',\n  testConnection: 'sqlite:./qapipe-dev.db',");
    const outcomeFile = path.join(tempDir(), 'prodguard-outcome.json');
    const result = await pipe.cli(['test', '--report-json', outcomeFile]);
    expectExit(result, 1);
    expect(errorLines(result)).toEqual([
      'Error: testConnection points at the production database; tests would destroy its data',
    ]);
    expect(result.stderr).toContain('Remove testConnection');
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain('LoaderTest');
    expect(fs.existsSync(outcomeFile)).toBe(false);
    expect(snapshotDb(pipe.dbFile)).toEqual(before);
  });
});

describePg('testConnection on PostgreSQL', () => {
  const production = pgDatabaseForFile();
  const shared = pgDatabaseForFile();

  test('when testConnection names the production PostgreSQL database then test refuses before anything runs, and the data is kept', async () => {
    const pipe = copyQaPipeline(tempDir(), { folder: 'prodguard-pg' });
    const url = (await production()).url;
    pipe.edit('settings.ts', "  connection: 'sqlite:qapipe-dev.db',", `  connection: '${url}',\n  testConnection: '${url}',`);
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    expectExit(await pipe.cli(['load']), 0);
    const before = await pgQuery(url, 'SELECT * FROM "Reading" ORDER BY id');
    expect(before).toHaveLength(4);
    const result = await pipe.cli(['test']);
    expectExit(result, 1);
    expect(errorLines(result)).toEqual(['Error: testConnection points at the production database; tests would destroy its data']);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain('LoaderTest');
    expect(await pgQuery(url, 'SELECT * FROM "Reading" ORDER BY id')).toEqual(before);
  });

  test('when three test runs share one testConnection at the same time then every TestCase of each passes on its own rows, other schemas are untouched, and nothing is left behind', async () => {
    const url = (await shared()).url;
    // A table of the test database's schema public, as an earlier or another tool left it.
    await pgQuery(url, 'CREATE TABLE "Reading" (id serial PRIMARY KEY, sensor text); INSERT INTO "Reading" (sensor) VALUES (\'kept\')');
    const pipes = [1, 2, 3].map((n) => {
      const pipe = copyQaPipeline(tempDir(), { folder: `shared-${n}` });
      setTestConnection(pipe, url);
      return pipe;
    });
    // Each run drops and creates the fixture's tables around each of its 8 TestCases, and
    // ScaleIsolationSecondTest fails if any row it did not save is in its stream.
    const runs = await Promise.all(pipes.map((pipe) => runTests(pipe, [])));
    for (const { result, outcome } of runs) {
      expect(result.code, describeResult(result)).toBe(0);
      expect(outcome).toMatchObject({ passed: 8, failed: 0, skipped: 0 });
    }
    expect(await pgQuery(url, 'SELECT sensor FROM public."Reading"')).toEqual([{ sensor: 'kept' }]);
    expect(await pgLeftovers(url)).toEqual(['public.Reading']);
  });
});
