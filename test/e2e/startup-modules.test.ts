/**
 * What lssteps, a command that forks nothing, loads at start-up (issue 15): not child_process
 * (commander requires it at its top, for executable subcommands corral has none of;
 * scripts/bundle-corral.js bundles commander with that require made lazy), nor readline
 * or perf_hooks, which only some commands use and load on first use, nor crypto (the
 * compile cache's fingerprint is hashed in JavaScript; the rest take it on first use).
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { runCli } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-startup-');
let pipe: ScaffoldedPipeline;
/** A module preloaded with -r: at exit, writes the Node built-in modules the process loaded to the file in LOADED_OUT. */
let preload: string;

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'startpipe');
  preload = path.join(tempDir(), 'loaded-builtins.cjs');
  fs.writeFileSync(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(process.env.LOADED_OUT, JSON.stringify({ builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)), files: Object.keys(require.cache) })));\n`,
  );
});

/** The built-in modules and the CommonJS files `node in_corral.js <args>` loaded, after checking that it succeeded. */
async function loadedBy(args: readonly string[]): Promise<{ builtins: string[]; files: string[] }> {
  const out = path.join(tempDir(), `loaded-${args.join('-')}.json`);
  const result = await runCli(['-r', preload, 'in_corral.js', ...args], { cwd: pipe.root, env: { LOADED_OUT: out } });
  expectExit(result, 0);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as { builtins: string[]; files: string[] };
}

async function builtinsLoadedBy(args: readonly string[]): Promise<string[]> {
  return (await loadedBy(args)).builtins;
}

test('when lssteps runs then child_process, readline, perf_hooks and crypto are not loaded', async () => {
  // The first command compiles the settings with esbuild (conf/compile-cache.ts), which spawns its service.
  expectExit(await pipe.cli(['lssteps']), 0);
  const loaded = await builtinsLoadedBy(['lssteps']);
  expect(loaded).toContain('fs');
  expect(loaded.filter((name) => ['child_process', 'readline', 'perf_hooks', 'crypto'].includes(name))).toEqual([]);
});

test('when lssteps logs nothing then pino is not loaded, and when a command logs then its lines still come', async () => {
  expectExit(await pipe.cli(['lssteps']), 0);
  const { builtins, files } = await loadedBy(['lssteps']);
  expect(files.some((file) => file.endsWith('corral.cjs'))).toBe(true);
  // dist/vendor/pino.cjs runs as a vm.Script (core/vendor.ts), outside require.cache; its
  // transport code requires worker_threads, which nothing else of lssteps loads.
  expect(files.filter((file) => /pino/.test(file))).toEqual([]);
  expect(builtins).not.toContain('worker_threads');
  // The logger is made on first use: a command that logs still writes its lines.
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  const run = await pipe.cli(['run-all']);
  expectExit(run, 0);
  expect(run.stderr).toMatch(/\[startpipe INFO [0-9:]+\] Loader: /);
});
