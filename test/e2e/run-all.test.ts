/**
 * The scaffold, driven as a user drives it: `run-all` forked and in-process, the
 * listings, the custom command and the pipeline's own tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { runCli } from '../helpers/run-cli.js';
import { examples, expectAlertedOnce, PROCESSED_EXAMPLES, resetPipeline } from '../helpers/scaffold-state.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-runall-');
let pipe: ScaffoldedPipeline;

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'allpipe');
});

describe('run-all', () => {
  test('when run-all runs forked then the loader, the step and the alert all run in turn', async () => {
    resetPipeline(pipe);
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    const result = await pipe.cli(['run-all']);
    expectExit(result, 0);
    expect(result.stderr).toMatch(/ok +loader +Loader +3 rows[^]*ok +step +MyStep +3 rows[^]*ok +alert +MyAlert +3 rows/);
    expect(examples(pipe)).toEqual(PROCESSED_EXAMPLES);
    expectAlertedOnce(pipe);
  });

  test('when run-all gets --sync then the result is the same', async () => {
    resetPipeline(pipe);
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    expectExit(await pipe.cli(['run-all', '--sync']), 0);
    expect(examples(pipe)).toEqual(PROCESSED_EXAMPLES);
    expectAlertedOnce(pipe);
  });
});

describe('the working folder', () => {
  test('when in_corral.js is started from another folder then the database and the alert file still go in the pipeline folder', async () => {
    resetPipeline(pipe);
    const parent = path.dirname(pipe.root);
    expectExit(await runCli([path.join(pipe.name, 'in_corral.js'), 'createdb', '--noinput'], { cwd: parent }), 0);
    expectExit(await runCli([path.join(pipe.name, 'in_corral.js'), 'run-all', '--sync'], { cwd: parent }), 0);
    expect(examples(pipe)).toEqual(PROCESSED_EXAMPLES);
    expectAlertedOnce(pipe);
    expect(fs.readdirSync(parent).sort()).toEqual([pipe.name]);
  });
});

describe('listings and custom commands', () => {
  test('when lssteps runs then the scaffold step is listed with its group', async () => {
    const result = await pipe.cli(['lssteps']);
    expectExit(result, 0);
    expect(result.stdout).toBe(
      ['+------------+---------+', '| Step Class | Groups  |', '+============+=========+', '| MyStep     | default |', '+------------+---------+', ''].join('\n'),
    );
  });

  test('when the custom command of the scaffold runs then it prints the row count', async () => {
    resetPipeline(pipe);
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    const result = await pipe.cli(['count']);
    expectExit(result, 0);
    expect(result.stdout).toBe('Example rows: 0\n');
  });
});

describe('the scaffold tests', () => {
  test('when test runs on the untouched scaffold then all its tests pass and the exit code is 0', async () => {
    const result = await pipe.cli(['test']);
    expectExit(result, 0);
    const summary = /Tests +(\d+) passed \((\d+)\)/.exec(result.stdout);
    expect(summary, result.stdout).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThanOrEqual(3);
    expect(summary![1]).toBe(summary![2]);
    expect(result.stdout).not.toMatch(/failed/i);
  });
});
