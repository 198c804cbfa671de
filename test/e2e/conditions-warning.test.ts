/**
 * A `between` with its bounds reversed (as the paper's own `dec.between(-29.007,
 * -29.008)`) is valid SQL that matches no row. corral says so when a command starts:
 * one warning line naming the processor, the column and the bounds, once per command
 * (not once per forked worker or per TestCase). The condition is checked before any
 * database is opened, so SQLite only.
 */
import { beforeAll, expect, test } from 'vitest';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { describeResult, type CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-between-');
const WARNING = "MyStep: condition on 'value' between [3, 1] has its bounds reversed and matches no row; write [1, 3]";
let pipe: ScaffoldedPipeline;

const warningLines = (result: CliResult) => (result.stdout + result.stderr).split('\n').filter((line) => line.includes('bounds reversed'));

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'betweenpipe');
  pipe.edit('steps.ts', 'static override conditions = [{ processed: false }];', "static override conditions = [{ processed: false }, ['value', 'between', [3, 1]]];");
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  expectExit(await pipe.cli(['load']), 0);
});

test('when a step has a between with reversed bounds then run warns once, naming the step, the column and the bounds, and matches no row', async () => {
  const result = await pipe.cli(['run']);
  expectExit(result, 0);
  const lines = warningLines(result);
  expect(lines, describeResult(result)).toHaveLength(1);
  expect(lines[0]).toMatch(/WARN/);
  expect(lines[0]).toContain(WARNING);
  expect(result.stderr).toMatch(/ok +step +MyStep +0 rows/);
});

test('when the pipeline tests run then the warning is said once, not once per TestCase', async () => {
  const result = await pipe.cli(['test']);
  // MyStepTest fails: the reversed condition matches no row, which is the point of the warning.
  expect(result.code).toBe(1);
  expect(warningLines(result), describeResult(result)).toEqual([expect.stringContaining(WARNING)]);
});

test('when the bounds are put in order then no warning is said', async () => {
  pipe.edit('steps.ts', "['value', 'between', [3, 1]]", "['value', 'between', [1, 3]]");
  const result = await pipe.cli(['run']);
  expectExit(result, 0);
  expect(warningLines(result)).toEqual([]);
  expect(result.stderr).toMatch(/ok +step +MyStep +3 rows/);
});
