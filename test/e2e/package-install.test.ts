/**
 * corral as a user installs it from the registry, without the registry: `npm pack`
 * gives the tarball npm would publish, a scaffolded pipeline depends on it, and npm
 * installs it for real (better-sqlite3 compiled, dependencies from the npm registry
 * or its cache).
 * 1. `npm install --omit=dev` (a server): no QA toolchain in node_modules; createdb
 *    and run-all work; every QA command says in one line what to install.
 * 2. `npm install` (a developer): test and qareport work.
 * The full path through a private registry (`npx corral create`) is
 * `node scripts/registry-smoke.js` (README, "Publishing"): it takes several minutes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { CORRAL_BIN, REPO_ROOT } from '../helpers/paths.js';
import { pipelineAt, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { cleanEnv, describeResult, runCli, type CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-install-');
const corralManifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};
const TOOLCHAIN = ['@eslint/js', '@types/node', 'c8', 'eslint', 'typescript', 'typescript-eslint', 'vitest'];

/** `npm <args>` in `cwd`, with none of the npm_* variables of the npx that started vitest. */
function npm(args: readonly string[], cwd: string): Promise<CliResult> {
  const env = cleanEnv();
  for (const key of Object.keys(env)) if (/^npm_/i.test(key)) delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn('npm', [...args, '--no-audit', '--no-fund'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function expectOk(result: CliResult): void {
  expect(result.code, describeResult(result)).toBe(0);
}

const installed = (pipe: ScaffoldedPipeline, name: string) => fs.existsSync(path.join(pipe.root, 'node_modules', name, 'package.json'));

describe('corral installed from its package tarball', () => {
  let pipe: ScaffoldedPipeline;

  beforeAll(async () => {
    const dir = tempDir();
    // dist/ is built by the global setup: packing needs no second build.
    const packed = await npm(['pack', '--ignore-scripts', '--pack-destination', dir], REPO_ROOT);
    expectOk(packed);
    const tarball = path.join(dir, `corral-${corralManifest.version}.tgz`);
    expect(fs.existsSync(tarball)).toBe(true);
    expectOk(await runCli([CORRAL_BIN, 'create', 'mypipe'], { cwd: dir }));
    pipe = pipelineAt(path.join(dir, 'mypipe'), 'mypipe');
    // What the registry would serve for "^<version>": this tarball.
    const manifestFile = path.join(pipe.root, 'package.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { dependencies: Record<string, string> };
    manifest.dependencies.corral = `file:${tarball}`;
    fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
  }, 600_000);

  test('the scaffold pins the QA toolchain as devDependencies and approves the install scripts', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(pipe.root, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
      allowScripts: Record<string, boolean>;
    };
    expect(manifest.devDependencies).toEqual(Object.fromEntries(TOOLCHAIN.map((name) => [name, corralManifest.devDependencies[name]])));
    expect(manifest.allowScripts).toEqual({ 'better-sqlite3': true, esbuild: true });
  });

  test('npm install --omit=dev: runtime only; createdb and run-all work; QA commands say what to install', async () => {
    expectOk(await npm(['install', '--omit=dev'], pipe.root));
    expect(installed(pipe, 'corral')).toBe(true);
    expect(fs.lstatSync(path.join(pipe.root, 'node_modules', 'corral')).isSymbolicLink()).toBe(false);
    expect(TOOLCHAIN.filter((name) => installed(pipe, name))).toEqual([]);

    expectOk(await pipe.cli(['createdb', '--noinput']));
    const runAll = await pipe.cli(['run-all']);
    expectOk(runAll);
    expectOk(await pipe.cli(['status']));

    const pins = TOOLCHAIN.map((name) => `${name}@${corralManifest.devDependencies[name]}`).join(' ');
    for (const [command, missing] of [
      ['test', 'vitest'],
      ['coverage', 'vitest, c8'],
      ['style', 'eslint, @eslint/js, typescript-eslint, typescript'],
      ['typecheck', 'typescript, @types/node'],
      ['qareport', 'vitest, c8, eslint, @eslint/js, typescript-eslint, typescript'],
      ['profile', 'vitest'],
      ['create-doc', 'typescript'],
    ] as const) {
      const result = await pipe.cli([command]);
      expect(result.code, describeResult(result)).toBe(1);
      expect(result.stderr).toBe(
        `Error: '${command}' needs the QA toolchain, which is not installed here (missing: ${missing})\n` +
          `  Install the pipeline's devDependencies (npm install, without --omit=dev), or: npm install --save-dev ${pins}\n`,
      );
    }
  }, 900_000);

  test('npm install (with devDependencies): test and qareport work', async () => {
    expectOk(await npm(['install'], pipe.root));
    expect(TOOLCHAIN.filter((name) => !installed(pipe, name))).toEqual([]);
    const tests = await pipe.cli(['test']);
    expectOk(tests);
    const report = await pipe.cli(['qareport', '-o', 'qa.md']);
    expectOk(report);
    expect(fs.readFileSync(path.join(pipe.root, 'qa.md'), 'utf8')).toMatch(/QAI/);
  }, 900_000);
});
