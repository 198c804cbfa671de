/**
 * The QA commands on the pipelines users start from: both examples reach an A grade
 * (QAI >= 90 %) with every test passing, and a freshly created pipeline's tests pass
 * and its quality report runs. The examples' tests also pass with a PostgreSQL
 * `testConnection` (the quality report itself is covered on PostgreSQL by qa-report).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { pgLeftovers } from '../helpers/pipeline-db.js';
import { createPipeline, expectExit } from '../helpers/pipeline.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { describePg, pgDatabaseForFile } from '../helpers/postgres.js';
import { qaiByHand, readJson, type QaReportJson, type TestOutcomeJson } from '../helpers/qa-pipeline.js';
import { runCli } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-qaexamples-');

/** Every file under `dir`, for "nothing was left behind" checks. */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).sort();
}

describe('the examples', () => {
  test.each(['iris', 'exoplanets'])('when qareport runs on examples/%s then every test passes and the QAI is at least 0.90', async (name) => {
    const example = path.join(REPO_ROOT, 'examples', name);
    const before = listing(example);
    const out = path.join(tempDir(), `${name}.json`);
    const result = await runCli([path.join('examples', name, 'in_corral.js'), 'qareport', '--format', 'json', '-o', out], { cwd: REPO_ROOT });
    expectExit(result, 0);
    const report = readJson<QaReportJson>(out);
    expect(report.tests.failed).toBe(0);
    expect(report.tests.passed).toBeGreaterThan(0);
    expect(report.tests.tests.every((t) => t.state === 'passed')).toBe(true);
    expect(report.inputs.testsPassed).toBe(true);
    expect(report.qai).toBeGreaterThanOrEqual(0.9);
    expect(report.qai).toBeCloseTo(qaiByHand(report.inputs), 12);
    // The report measured the example and left nothing behind in it (no database, log or
    // coverage folder; docs/ is left to the documentation commands).
    expect(listing(example).filter((file) => !before.includes(file) && !file.startsWith('docs'))).toEqual([]);
  });
});

describe('a freshly created pipeline', () => {
  test('when corral create makes a pipeline then its test passes and its qareport runs with a QAI above 0', async () => {
    const pipe = await createPipeline(tempDir(), 'qafresh');
    const tested = await pipe.cli(['test']);
    expectExit(tested, 0);
    const out = path.join(tempDir(), 'qafresh.json');
    const reported = await pipe.cli(['qareport', '--format', 'json', '-o', out]);
    expectExit(reported, 0);
    const report = readJson<QaReportJson>(out);
    expect(report.pipeline).toBe('qafresh');
    expect(report.inputs.testsPassed).toBe(true);
    expect(report.tests.failed).toBe(0);
    expect(report.qai).toBeGreaterThan(0);
    expect(report.untested).toEqual([]);
  });
});

describePg('the examples on a PostgreSQL testConnection', () => {
  const testDatabase = pgDatabaseForFile();

  test.each([
    ['iris', 'iris'],
    ['exoplanets', 'exo'],
  ])('when the tests of examples/%s run on PostgreSQL then every one passes and the test database is left empty', async (name, pkg) => {
    // A user's copy of the example: its own package.json and node_modules (corral, and csv-parse,
    // which its loader reads the CSV with), as after `npm install corral csv-parse`.
    const root = path.join(tempDir(), `${name}-pg`);
    fs.cpSync(path.join(REPO_ROOT, 'examples', name), root, { recursive: true, filter: (source) => !source.includes(`${path.sep}docs`) });
    fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name, private: true, type: 'module', dependencies: { corral: `file:${REPO_ROOT}`, 'csv-parse': '7.0.3' } }));
    fs.mkdirSync(path.join(root, 'node_modules'));
    fs.symlinkSync(path.resolve(REPO_ROOT), path.join(root, 'node_modules', 'corral'), 'dir');
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules', 'csv-parse'), path.join(root, 'node_modules', 'csv-parse'), 'dir');
    const { url } = await testDatabase();
    const settingsFile = path.join(root, pkg, 'settings.ts');
    const settings = fs.readFileSync(settingsFile, 'utf8');
    const edited = settings.replace(/^( {2}connection: .*\n)/m, `$1  testConnection: '${url}',\n`);
    expect(edited).not.toBe(settings);
    fs.writeFileSync(settingsFile, edited);

    const outcomeFile = path.join(tempDir(), `${name}-pg-outcome.json`);
    const result = await runCli(['in_corral.js', 'test', '--report-json', outcomeFile], { cwd: root });
    expectExit(result, 0);
    const outcome = readJson<TestOutcomeJson>(outcomeFile);
    expect(outcome.failed).toBe(0);
    expect(outcome.passed).toBeGreaterThan(0);
    expect(outcome.tests.every((t) => t.state === 'passed')).toBe(true);
    expect(await pgLeftovers(url)).toEqual([]);
  });
});
