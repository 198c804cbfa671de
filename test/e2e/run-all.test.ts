/**
 * The scaffold, driven as a user drives it: `run-all` forked and in-process, the
 * listings, the custom command and the pipeline's own tests, on SQLite and on
 * PostgreSQL (`connection`, and for `test` also `testConnection`, on databases of
 * this file).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { pgLeftovers, pipelineOnDatabase, setTestConnection } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase, pgDatabaseForFile } from '../helpers/postgres.js';
import { runCli } from '../helpers/run-cli.js';
import { examplesIn, expectAlertedOnceIn, PROCESSED_EXAMPLES, resetPipelineDb } from '../helpers/scaffold-state.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-runall-');
let scaffold: Promise<ScaffoldedPipeline> | undefined;

describe('listings', () => {
  test('when lssteps runs then the scaffold step is listed with its group', async () => {
    const pipe = await (scaffold ??= createPipeline(tempDir(), 'allpipe'));
    const result = await pipe.cli(['lssteps']);
    expectExit(result, 0);
    expect(result.stdout).toBe(
      ['+------------+---------+', '| Step Class | Groups  |', '+============+=========+', '| MyStep     | default |', '+------------+---------+', ''].join('\n'),
    );
  });
});

forEachDatabase((dialect) => {
  // Each copy in a folder of its own, named as the pipeline: `the working folder` lists its parent.
  const on = pipelineOnDatabase(dialect, async () => copyPipeline(await (scaffold ??= createPipeline(tempDir(), 'allpipe')), path.join(tempDir(), dialect)));
  const testDatabase = pgDatabaseForFile();

  describe('run-all', () => {
    test('when run-all runs forked then the loader, the step and the alert all run in turn', async () => {
      await resetPipelineDb(on.pipe, on.db);
      expectExit(await on.pipe.cli(['createdb', '--noinput']), 0);
      const result = await on.pipe.cli(['run-all']);
      expectExit(result, 0);
      expect(result.stderr).toMatch(/ok +loader +Loader +3 rows[^]*ok +step +MyStep +3 rows[^]*ok +alert +MyAlert +3 rows/);
      expect(await examplesIn(on.db)).toEqual(PROCESSED_EXAMPLES);
      await expectAlertedOnceIn(on.pipe, on.db);
    });

    test('when run-all gets --sync then the result is the same', async () => {
      await resetPipelineDb(on.pipe, on.db);
      expectExit(await on.pipe.cli(['createdb', '--noinput']), 0);
      expectExit(await on.pipe.cli(['run-all', '--sync']), 0);
      expect(await examplesIn(on.db)).toEqual(PROCESSED_EXAMPLES);
      await expectAlertedOnceIn(on.pipe, on.db);
    });
  });

  describe('the working folder', () => {
    test('when in_corral.js is started from another folder then the database and the alert file still go in the pipeline folder', async () => {
      const pipe = on.pipe;
      await resetPipelineDb(pipe, on.db);
      const parent = path.dirname(pipe.root);
      expectExit(await runCli([path.join(pipe.name, 'in_corral.js'), 'createdb', '--noinput'], { cwd: parent }), 0);
      expectExit(await runCli([path.join(pipe.name, 'in_corral.js'), 'run-all', '--sync'], { cwd: parent }), 0);
      expect(await examplesIn(on.db)).toEqual(PROCESSED_EXAMPLES);
      await expectAlertedOnceIn(pipe, on.db);
      expect(fs.readdirSync(parent).sort()).toEqual([pipe.name]);
      if (dialect === 'postgres') expect(fs.existsSync(pipe.dbFile)).toBe(false);
    });
  });

  describe('custom commands', () => {
    test('when the custom command of the scaffold runs then it prints the row count', async () => {
      await resetPipelineDb(on.pipe, on.db);
      expectExit(await on.pipe.cli(['createdb', '--noinput']), 0);
      expect(await on.pipe.cli(['count'])).toMatchObject({ code: 0, stdout: 'Example rows: 0\n' });
      expectExit(await on.pipe.cli(['load']), 0);
      expect(await on.pipe.cli(['count'])).toMatchObject({ code: 0, stdout: 'Example rows: 3\n' });
    });
  });

  describe('the scaffold tests', () => {
    test('when test runs on the untouched scaffold then all its tests pass and the exit code is 0', async () => {
      let testUrl: string | undefined;
      if (dialect === 'postgres') {
        testUrl = (await testDatabase()).url;
        setTestConnection(on.pipe, testUrl);
      }
      expectExit(await on.pipe.cli(['createdb', '--noinput']), 0);
      const production = await on.db.snapshot();
      const result = await on.pipe.cli(['test']);
      expectExit(result, 0);
      const summary = /Tests +(\d+) passed \((\d+)\)/.exec(result.stdout);
      expect(summary, result.stdout).not.toBeNull();
      expect(Number(summary![1])).toBeGreaterThanOrEqual(3);
      expect(summary![1]).toBe(summary![2]);
      expect(result.stdout).not.toMatch(/failed/i);
      expect(await on.db.snapshot()).toEqual(production);
      if (testUrl) {
        // Every test's schema was dropped after it: nothing is left in the test database.
        expect(await pgLeftovers(testUrl)).toEqual([]);
      }
    });
  });
});
