/**
 * The scaffold, driven as a user drives it: `corral create`, then
 * `node in_corral.js <command>` subprocesses in the pipeline folder, one command at a
 * time, on SQLite (the scaffold's default) and on PostgreSQL (`connection` pointed at
 * a database of this file).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, beforeAll, expect, test } from 'vitest';
import { pipelineOnDatabase } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase } from '../helpers/postgres.js';
import type { CliResult } from '../helpers/run-cli.js';
import { alertFile, examplesIn, expectAlertedOnceIn, PROCESSED_EXAMPLES, resetPipelineDb } from '../helpers/scaffold-state.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-flow-');
let scaffold: Promise<ScaffoldedPipeline> | undefined;

forEachDatabase((dialect) => {
  const on = pipelineOnDatabase(dialect, async () => copyPipeline(await (scaffold ??= createPipeline(tempDir(), 'flowpipe')), path.join(tempDir(), dialect)));

  describe('createdb, load, run and check-alerts, forked', () => {
    const results: Record<string, CliResult> = {};

    beforeAll(async () => {
      await resetPipelineDb(on.pipe, on.db);
      for (const command of ['createdb', 'load', 'run', 'check-alerts']) {
        results[command] = await on.pipe.cli(command === 'createdb' ? ['createdb', '--noinput'] : [command]);
        expectExit(results[command]!, 0);
      }
    });

    test('when a fresh pipeline runs its commands then the rows are loaded, doubled and alerted once each', async () => {
      expect(results.createdb!.stdout).toBe('Created tables: Example, corral_alerted, corral_failures, corral_runs\n');
      expect(results.load!.stderr).toMatch(/ok +loader +Loader +3 rows/);
      expect(results.run!.stderr).toMatch(/ok +step +MyStep +3 rows/);
      expect(results['check-alerts']!.stderr).toMatch(/ok +alert +MyAlert +3 rows/);
      expect(await examplesIn(on.db)).toEqual(PROCESSED_EXAMPLES);
      await expectAlertedOnceIn(on.pipe, on.db);
    });

    test('when check-alerts runs a second time then nothing new is sent and the exit code is 0', async () => {
      const before = fs.readFileSync(alertFile(on.pipe), 'utf8');
      const again = await on.pipe.cli(['check-alerts']);
      expectExit(again, 0);
      expect(again.stderr).toMatch(/ok +alert +MyAlert +0 rows/);
      expect(fs.readFileSync(alertFile(on.pipe), 'utf8')).toBe(before);
      await expectAlertedOnceIn(on.pipe, on.db);
    });

    test('when load runs a second time then the scaffold loader adds nothing: it skips the rows an earlier run loaded', async () => {
      const again = await on.pipe.cli(['load']);
      expectExit(again, 0);
      expect(again.stderr).toMatch(/ok +loader +Loader +0 rows/);
      expect(await examplesIn(on.db)).toEqual(PROCESSED_EXAMPLES);
    });

    test('when createdb runs a second time then the existing tables and their rows are kept', async () => {
      const before = await on.db.snapshot();
      expect(Object.keys(before)).toEqual(['Example', 'corral_alerted', 'corral_failures', 'corral_runs']);
      const again = await on.pipe.cli(['createdb', '--noinput']);
      expectExit(again, 0);
      expect(again.stdout).toBe('Already present (left unchanged): Example, corral_alerted, corral_failures, corral_runs\n');
      expect(await on.db.snapshot()).toEqual(before);
    });
  });

  describe('the same flow in this process', () => {
    test('when run and check-alerts get --sync then the database and alert file end up the same as forked', async () => {
      await resetPipelineDb(on.pipe, on.db);
      for (const args of [['createdb', '--noinput'], ['load'], ['run', '--sync'], ['check-alerts', '--sync']]) expectExit(await on.pipe.cli(args), 0);
      expect(await examplesIn(on.db)).toEqual(PROCESSED_EXAMPLES);
      await expectAlertedOnceIn(on.pipe, on.db);
    });
  });
});

describe('typecheck', () => {
  test('when typecheck runs on a fresh pipeline then it finds no error; after a type error in steps.ts it names the file, line and column and exits 1', async () => {
    const pipe = copyPipeline(await (scaffold ??= createPipeline(tempDir(), 'flowpipe')), path.join(tempDir(), 'typecheck'));
    const clean = await pipe.cli(['typecheck']);
    expectExit(clean, 0);
    expect(clean.stdout).toBe('0 type error(s) in 8 file(s)\n');

    pipe.edit('steps.ts', 'row.doubled = row.value * 2;', 'row.doubled = row.name * 2;');
    const broken = await pipe.cli(['typecheck']);
    expectExit(broken, 1);
    expect(broken.stdout).toMatch(/^flowpipe\/steps\.ts:\d+:\d+: TS2362 The left-hand side of an arithmetic operation must be of type/m);
    expect(broken.stdout).toMatch(/^1 type error\(s\) in 8 file\(s\)$/m);
  });

  test('when typecheck gets --help then it says what it does; without a tsconfig.json it fails with one error line and a hint', async () => {
    const pipe = copyPipeline(await (scaffold ??= createPipeline(tempDir(), 'flowpipe')), path.join(tempDir(), 'typecheck-bad'));
    const help = await pipe.cli(['typecheck', '--help']);
    expectExit(help, 0);
    expect(help.stdout).toContain("Type-check the pipeline's TypeScript with its tsconfig.json");

    fs.rmSync(path.join(pipe.root, 'tsconfig.json'));
    const missing = await pipe.cli(['typecheck']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.split('\n').filter((line) => line.startsWith('Error:'))).toEqual([`Error: No tsconfig.json in ${pipe.root}`]);
    expect(missing.stderr).toContain('`corral create` writes one');
    expect(missing.stderr).not.toMatch(/^\s+at /m);
  });
});
