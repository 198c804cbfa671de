/**
 * `node in_corral.js test` on the QA fixture pipeline: which TestCases run, in which
 * order and on which database. Each run writes its outcome with `--report-json`
 * (what coverage and qareport read) so the assertions name every test exactly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { copyQaPipeline, errorLines, runTestsWithOutcome, testNamesIn, type TestOutcomeJson } from '../helpers/qa-pipeline.js';
import type { CliResult } from '../helpers/run-cli.js';
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

describe('the whole suite', () => {
  let pipe: ScaffoldedPipeline;
  let run: { result: CliResult; outcome: TestOutcomeJson };

  beforeAll(async () => {
    pipe = copyQaPipeline(tempDir(), { folder: 'whole' });
    run = await runTests(pipe, ['-v']);
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

  test('when tests run then the production database is neither created nor touched', () => {
    expect(fs.existsSync(pipe.dbFile)).toBe(false);
  });
});

describe('selection flags', () => {
  let pipe: ScaffoldedPipeline;

  beforeAll(() => {
    pipe = copyQaPipeline(tempDir(), { folder: 'selection' });
  });

  test.each([
    ['-s Scale', ['-s', 'Scale'], ['Loader', 'Scale', 'HighAlert', 'CountCommand']],
    ['-es', ['-es'], ['Loader', 'HighAlert', 'CountCommand']],
    ['-el', ['-el'], ['Clean', 'Scale', 'HighAlert', 'CountCommand']],
    ['-ea', ['-ea'], ['Loader', 'Clean', 'Scale', 'CountCommand']],
    ['-sg prep -ec', ['-sg', 'prep', '-ec'], ['Loader', 'Clean', 'HighAlert']],
  ] as const)("when test gets %s then only the selected subjects' tests run and the others are skipped", async (label, args, subjects) => {
    const { result, outcome } = await runTests(pipe, args);
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
    const result = await pipe.cli(['test', '-s', 'Scal']);
    expectExit(result, 1);
    expect(errorLines(result)).toEqual(["Error: Unknown step 'Scal'. (Did you mean Scale?)"]);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain('LoaderTest');
    expect(result.stderr).not.toContain('pipeline.test.js');
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
