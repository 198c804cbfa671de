/**
 * What `node in_corral.js test` prints for a pipeline author and writes for a CI
 * system, on a scaffolded pipeline whose tests.ts holds one deliberately wrong
 * assertion on a known line: the failure is reported at that line of tests.ts (not
 * at tsx's compiled `tests.ts:1:<column>`), the tests are listed under the
 * pipeline's tests.ts (not corral's templates/qa/pipeline.test.js), output through a
 * pipe has no ANSI codes, and `--reporter junit|json` writes a report a CI system
 * parses. Output formatting does not depend on the database: the default test
 * database (a temporary SQLite file) is used.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { errorLines } from '../helpers/qa-pipeline.js';
import type { CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';
import { elementsNamed, parseXml } from '../helpers/xml.js';

const tempDir = tempDirForFile('corral-e2e-qaout-');
const WRONG = 'this.assertEqual(lines.length, 7); // deliberately wrong: the alert writes 1 line';
const TESTS = ['CountCommand > CountCommandTest', 'Loader > LoaderSkipsLoadedRowsTest', 'Loader > LoaderTest', 'MyAlert > MyAlertTest', 'MyStep > MyStepTest'];
const FAILING = 'MyAlert > MyAlertTest';
const ANSI = '\x1b[';
/** A shell whose output goes to a pipe or a CI log: no colour variables set either way. */
const NO_COLOUR_VARS = { NO_COLOR: undefined, FORCE_COLOR: undefined, CI: '1' } as const;

let pipe: ScaffoldedPipeline;
/** `exo/tests.ts:<line of WRONG>:` as vitest prints positions (relative to the pipeline folder). */
let position: string;

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'exo');
  pipe.edit('tests.ts', 'this.assertEqual(lines.length, 1);', WRONG);
  const line = fs.readFileSync(pipe.file('tests.ts'), 'utf8').split('\n').findIndex((l) => l.includes(WRONG)) + 1;
  expect(line).toBeGreaterThan(1);
  position = `exo/tests.ts:${line}:`;
});

const all = (result: CliResult) => result.stdout + result.stderr;

describe('the console report', () => {
  let run: CliResult;

  beforeAll(async () => {
    run = await pipe.cli(['test', '-v'], NO_COLOUR_VARS);
  });

  test("when an assertion of tests.ts fails then the failure names tests.ts and the assertion's own line", () => {
    expectExit(run, 1);
    expect(all(run)).toContain(`MyAlertTest.validate ${position}`);
    // tsx's compiled single line is not what the author wrote.
    expect(all(run)).not.toMatch(/tests\.ts:1:\d{3,}/);
    // The code frame shows the wrong assertion itself, numbered with its line.
    expect(all(run)).toMatch(new RegExp(`\\b${position.split(':')[1]}\\|\\s+this\\.assertEqual\\(lines\\.length, 7\\);`));
  });

  test("when tests run then they are listed under the pipeline's tests.ts, never under corral's entry file", () => {
    expect(all(run)).toContain(`FAIL  exo/tests.ts > ${FAILING}`);
    for (const name of TESTS) expect(all(run)).toContain(` exo/tests.ts > ${name}`);
    expect(all(run)).not.toContain('pipeline.test.js');
    expect(all(run)).not.toContain('templates/qa');
  });

  test('when the output goes to a pipe (CI=1, no NO_COLOR or FORCE_COLOR) then it holds no ANSI escape codes', () => {
    expect(run.stdout).not.toContain(ANSI);
    expect(run.stderr).not.toContain(ANSI);
  });

  test('when FORCE_COLOR=1 then a pipe gets colours, as asked', async () => {
    const coloured = await pipe.cli(['test'], { ...NO_COLOUR_VARS, FORCE_COLOR: '1' });
    expectExit(coloured, 1);
    expect(all(coloured)).toContain(ANSI);
  });
});

describe('reports for CI systems', () => {
  test('when --reporter junit --output-file F then F is JUnit XML with every testcase and the failure at its line, and the console report stays', async () => {
    const file = path.join(tempDir(), 'junit.xml');
    const run = await pipe.cli(['test', '--reporter', 'junit', '--output-file', file], NO_COLOUR_VARS);
    expectExit(run, 1);
    expect(all(run)).toContain(`FAIL  exo/tests.ts > ${FAILING}`);
    const xml = fs.readFileSync(file, 'utf8');
    expect(xml).not.toContain(ANSI);
    const root = parseXml(xml);
    expect(root.name).toBe('testsuites');
    expect(root.attributes).toMatchObject({ name: 'exo', tests: String(TESTS.length), failures: '1' });
    const cases = elementsNamed(root, 'testcase');
    expect(cases.map((c) => c.attributes.name).sort()).toEqual(TESTS);
    expect(new Set(cases.map((c) => c.attributes.classname))).toEqual(new Set(['exo/tests.ts']));
    const failed = cases.filter((c) => elementsNamed(c, 'failure').length > 0);
    expect(failed.map((c) => c.attributes.name)).toEqual([FAILING]);
    const failure = elementsNamed(failed[0]!, 'failure')[0]!;
    expect(failure.attributes.type).toBe('AssertionError');
    expect(failure.text).toContain(`MyAlertTest.validate ${position}`);
  });

  test('when --reporter junit has no --output-file then standard output is the XML document alone', async () => {
    const run = await pipe.cli(['test', '--reporter', 'junit'], NO_COLOUR_VARS);
    expectExit(run, 1);
    const root = parseXml(run.stdout);
    expect(elementsNamed(root, 'testcase').map((c) => c.attributes.name).sort()).toEqual(TESTS);
  });

  test("when --reporter json --output-file F then F is vitest's JSON report of the pipeline's tests.ts", async () => {
    const file = path.join(tempDir(), 'report.json');
    const run = await pipe.cli(['test', '--reporter', 'json', '--output-file', file], NO_COLOUR_VARS);
    expectExit(run, 1);
    const report = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      numFailedTests: number;
      testResults: { name: string; assertionResults: { fullName: string; status: string }[] }[];
    };
    expect(report.numFailedTests).toBe(1);
    expect(report.testResults.map((r) => r.name)).toEqual([pipe.file('tests.ts')]);
    expect(report.testResults[0]!.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName)).toEqual(['MyAlert MyAlertTest']);
  });

  test('when --output-file comes without --reporter then it is one error line naming the fix, and no test runs', async () => {
    const run = await pipe.cli(['test', '--output-file', path.join(tempDir(), 'x.xml')]);
    expectExit(run, 1);
    expect(errorLines(run)).toEqual(['Error: --output-file needs a --reporter to write']);
    expect(run.stderr).toContain('--reporter junit');
    expect(all(run)).not.toContain('MyAlertTest');
  });
});
