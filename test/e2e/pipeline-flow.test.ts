/**
 * The scaffold, driven as a user drives it: `corral create`, then
 * `node in_corral.js <command>` subprocesses in the pipeline folder, one command at a time.
 */
import fs from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import type { CliResult } from '../helpers/run-cli.js';
import { alertFile, examples, expectAlertedOnce, PROCESSED_EXAMPLES, resetPipeline } from '../helpers/scaffold-state.js';
import { snapshotDb } from '../helpers/sqlite.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-flow-');
let pipe: ScaffoldedPipeline;

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'flowpipe');
});

describe('createdb, load, run and check-alerts, forked', () => {
  const results: Record<string, CliResult> = {};

  beforeAll(async () => {
    resetPipeline(pipe);
    for (const command of ['createdb', 'load', 'run', 'check-alerts']) {
      results[command] = await pipe.cli(command === 'createdb' ? ['createdb', '--noinput'] : [command]);
      expectExit(results[command]!, 0);
    }
  });

  test('when a fresh pipeline runs its commands then the rows are loaded, doubled and alerted once each', () => {
    expect(results.createdb!.stdout).toBe('Created tables: Example, corral_alerted, corral_failures, corral_runs\n');
    expect(results.load!.stderr).toMatch(/ok +loader +Loader +3 rows/);
    expect(results.run!.stderr).toMatch(/ok +step +MyStep +3 rows/);
    expect(results['check-alerts']!.stderr).toMatch(/ok +alert +MyAlert +3 rows/);
    expect(examples(pipe)).toEqual(PROCESSED_EXAMPLES);
    expectAlertedOnce(pipe);
  });

  test('when check-alerts runs a second time then nothing new is sent and the exit code is 0', async () => {
    const before = fs.readFileSync(alertFile(pipe), 'utf8');
    const again = await pipe.cli(['check-alerts']);
    expectExit(again, 0);
    expect(again.stderr).toMatch(/ok +alert +MyAlert +0 rows/);
    expect(fs.readFileSync(alertFile(pipe), 'utf8')).toBe(before);
    expectAlertedOnce(pipe);
  });

  test('when createdb runs a second time then the existing tables and their rows are kept', async () => {
    const before = snapshotDb(pipe.dbFile);
    const again = await pipe.cli(['createdb', '--noinput']);
    expectExit(again, 0);
    expect(again.stdout).toBe('Already present (left unchanged): Example, corral_alerted, corral_failures, corral_runs\n');
    expect(snapshotDb(pipe.dbFile)).toEqual(before);
  });
});

describe('the same flow in this process', () => {
  test('when run and check-alerts get --sync then the database and alert file end up the same as forked', async () => {
    resetPipeline(pipe);
    for (const args of [['createdb', '--noinput'], ['load'], ['run', '--sync'], ['check-alerts', '--sync']]) expectExit(await pipe.cli(args), 0);
    expect(examples(pipe)).toEqual(PROCESSED_EXAMPLES);
    expectAlertedOnce(pipe);
  });
});
