/**
 * Failing tests through `test`, `coverage` and `qareport`: one failing TestCase voids
 * the QAI (Θ = 0), coverage still shows its table and says the run failed, and tests
 * that cannot run at all are an error, never a 0 % or a QAI computed from nothing.
 * The failing TestCases run on the default test database and on a PostgreSQL
 * `testConnection`; a tests module that cannot even be imported never reaches a
 * database, so that part runs once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { pgLeftovers, setTestConnection } from '../helpers/pipeline-db.js';
import { expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase, pgDatabaseForFile } from '../helpers/postgres.js';
import {
  copyQaPipeline,
  errorLines,
  packageSourceFiles,
  readJson,
  runTestsWithOutcome,
  testNamesIn,
  type QaReportJson,
  type TestOutcomeJson,
} from '../helpers/qa-pipeline.js';
import { describeResult, type CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-qafail-');

forEachDatabase((dialect) => {
  describe('two failing TestCases (CleanTest first, LoaderTest last, CountCommandTest passing between)', () => {
    let pipe: ScaffoldedPipeline;
    let testRun: { result: CliResult; outcome: TestOutcomeJson };
    let failFastRun: { result: CliResult; outcome: TestOutcomeJson };
    let coverageRun: CliResult;
    let reportRun: CliResult;
    let report: QaReportJson;

    const testDatabase = pgDatabaseForFile();
    let testUrl: string | undefined;

    beforeAll(async () => {
      pipe = copyQaPipeline(tempDir(), { folder: `failing-${dialect}`, tests: 'failing' });
      if (dialect === 'postgres') {
        testUrl = (await testDatabase()).url;
        setTestConnection(pipe, testUrl);
      }
      testRun = await runTestsWithOutcome(pipe, [], tempDir());
      failFastRun = await runTestsWithOutcome(pipe, ['-f'], tempDir());
      coverageRun = await pipe.cli(['coverage']);
      const reportFile = path.join(tempDir(), `failing-report-${dialect}.json`);
      reportRun = await pipe.cli(['qareport', '--format', 'json', '-o', reportFile]);
      report = readJson<QaReportJson>(reportFile);
    });

    test('when TestCases fail then test reports each failure with its message, runs the rest, and exits with 1', () => {
      expectExit(testRun.result, 1);
      expect(testRun.outcome.tests.map((t) => [t.name, t.state])).toEqual([
        ['CleanTest', 'failed'],
        ['CountCommandTest', 'passed'],
        ['LoaderTest', 'failed'],
      ]);
      expect(testRun.outcome.tests[0]!.errors).toEqual(['CleanTest expected the negative reading unchanged']);
      expect(testRun.outcome.tests[2]!.errors).toEqual(["Model 'Reading': 4 row(s) found, expected 5"]);
      const shown = testRun.result.stdout + testRun.result.stderr;
      expect(shown).toContain('CleanTest expected the negative reading unchanged');
      expect(shown).toContain("Model 'Reading': 4 row(s) found, expected 5");
    });

    test('when -f is given then the run stops at the first failure: the later tests do not run, and the exit code is 1', () => {
      expectExit(failFastRun.result, 1);
      expect(testNamesIn(failFastRun.outcome, 'failed')).toEqual(['CleanTest']);
      expect(testNamesIn(failFastRun.outcome, 'passed')).toEqual([]);
      expect(failFastRun.outcome.failed).toBe(1);
      expect(failFastRun.result.stdout + failFastRun.result.stderr).not.toContain('expected 5');
    });

    test('when tests fail then coverage still prints its table and total, says the run failed, and exits non-zero', () => {
      expect(coverageRun.code).not.toBe(0);
      expect(coverageRun.stdout, describeResult(coverageRun)).toMatch(/^File +\| % Stmts \| % Branch \| % Funcs \| % Lines/m);
      for (const file of packageSourceFiles(pipe)) expect(coverageRun.stdout).toMatch(new RegExp(`^ ${file.replace('.', '\\.')} +\\|`, 'm'));
      const total = /^Line coverage: (\d+\.\d\d)% of (\d+) lines in (\d+) files$/m.exec(coverageRun.stdout);
      expect(total, coverageRun.stdout).not.toBeNull();
      expect(Number(total![1])).toBeGreaterThan(0);
      expect(Number(total![3])).toBe(packageSourceFiles(pipe).length);
      expect(errorLines(coverageRun)).toEqual(['Error: 2 test(s) failed; the coverage above is of a failing run']);
      // The test output goes along, on stderr, with the failures' messages.
      expect(coverageRun.stderr).toContain('CleanTest expected the negative reading unchanged');
    });

    test('when a TestCase fails then qareport gives Θ 0 and a QAI of 0, graded F, while still reporting the other inputs', () => {
      expectExit(reportRun, 0);
      expect(report.inputs.testsPassed).toBe(false);
      expect(report.qai).toBe(0);
      expect(report.grade).toBe('F');
      expect(report.tests).toMatchObject({ passed: 1, failed: 2 });
      expect(report.inputs.processors).toBe(6);
      // Tests exist for Clean, count and Loader, failing or not.
      expect(report.inputs.testedProcessors).toBe(3);
      expect(report.untested).toEqual(['Scale', 'Flag', 'HighAlert']);
      expect(report.inputs.coverage).toBeGreaterThan(0);
      expect(reportRun.stderr).toContain('QAI 0.00% (grade F)');
    });

    if (dialect === 'postgres') {
      test('when the failing runs are over then the test database holds nothing they made', async () => {
        expect(await pgLeftovers(testUrl!)).toEqual([]);
      });
    }
  });
});

describe('a tests module that throws when imported', () => {
  let pipe: ScaffoldedPipeline;
  let coverageRun: CliResult;
  let reportRun: CliResult;
  const reportFile = () => path.join(tempDir(), 'throwing-report.json');

  beforeAll(async () => {
    pipe = copyQaPipeline(tempDir(), { folder: 'throwing', tests: 'throwing' });
    coverageRun = await pipe.cli(['coverage']);
    reportRun = await pipe.cli(['qareport', '--format', 'json', '-o', reportFile()]);
  });

  test('when not a single test can run then coverage is an error that says why, with no table and no percentage', () => {
    expectExit(coverageRun, 1);
    expect(errorLines(coverageRun)).toEqual(['Error: The tests could not run, so there is no coverage to measure: qapipe tests module broken on purpose']);
    expect(coverageRun.stdout).toBe('');
    expect(coverageRun.stdout + coverageRun.stderr).not.toMatch(/Line coverage|% Lines/);
  });

  test('when not a single test can run then qareport is the same error and writes no report', () => {
    expectExit(reportRun, 1);
    expect(errorLines(reportRun)).toEqual(['Error: The tests could not run, so there is no coverage to measure: qapipe tests module broken on purpose']);
    expect(reportRun.stderr).not.toMatch(/^QAI /m);
    expect(fs.existsSync(reportFile())).toBe(false);
  });

});
