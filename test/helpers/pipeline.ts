import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { CORRAL_BIN, REPO_ROOT } from './paths.js';
import { describeResult, runCli, startCli, type CliResult, type RunningCli } from './run-cli.js';

/** A pipeline scaffolded by `corral create`, ready to run. */
export interface ScaffoldedPipeline {
  readonly name: string;
  /** The pipeline folder (holds in_corral.js). */
  readonly root: string;
  /** The pipeline package folder (holds settings.ts, steps.ts, ...). */
  readonly packageDir: string;
  readonly settingsFile: string;
  /** The scaffold's default production database. */
  readonly dbFile: string;
  /** `node in_corral.js <args>` in the pipeline folder. */
  cli(args: readonly string[], env?: Readonly<Record<string, string | undefined>>): Promise<CliResult>;
  /** Path of a file of the pipeline package (`steps.ts`). */
  file(name: string): string;
  /** Replaces `search` with `replacement` in a file of the pipeline package; fails when `search` is absent. */
  edit(name: string, search: string | RegExp, replacement: string): void;
}

/**
 * Runs `node bin/corral.js create NAME` in `dir`, then links node_modules/corral to
 * this checkout, which is what `npm install` does with the scaffold's
 * `file:` dependency, in milliseconds instead of a minute.
 */
export async function createPipeline(dir: string, name: string): Promise<ScaffoldedPipeline> {
  const created = await runCli([CORRAL_BIN, 'create', name], { cwd: dir });
  expect(created.code, describeResult(created)).toBe(0);
  const root = path.join(dir, name);
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  expect(manifest.dependencies.corral).toBe(`file:${path.resolve(REPO_ROOT)}`);
  fs.mkdirSync(path.join(root, 'node_modules'));
  fs.symlinkSync(path.resolve(REPO_ROOT), path.join(root, 'node_modules', 'corral'), 'dir');
  return pipelineAt(root, name);
}

/** The ScaffoldedPipeline of the scaffold folder `root` of pipeline `name`. */
export function pipelineAt(root: string, name: string): ScaffoldedPipeline {
  const packageDir = path.join(root, name);
  return {
    name,
    root,
    packageDir,
    settingsFile: path.join(packageDir, 'settings.ts'),
    dbFile: path.join(root, `${name}-dev.db`),
    cli: (args, env) => runCli(['in_corral.js', ...args], { cwd: root, ...(env ? { env } : {}) }),
    file: (file) => path.join(packageDir, file),
    edit(file, search, replacement) {
      const target = path.join(packageDir, file);
      const before = fs.readFileSync(target, 'utf8');
      const after = before.replace(search, replacement);
      if (after === before) throw new Error(`edit: ${String(search)} not found in ${target}`);
      fs.writeFileSync(target, after);
    },
  };
}

/**
 * A copy of a scaffolded pipeline in `dir/<folder>` (default: the pipeline's name),
 * node_modules link included: a fresh scaffold in milliseconds. Copy it before its
 * first command if the copy must start without a database.
 */
export function copyPipeline(source: ScaffoldedPipeline, dir: string, folder = source.name): ScaffoldedPipeline {
  const root = path.join(dir, folder);
  fs.cpSync(source.root, root, { recursive: true, verbatimSymlinks: true });
  return pipelineAt(root, source.name);
}

/** `node in_corral.js <args>` in the pipeline folder, started in the background (signals, concurrency). */
export function startCommand(
  pipe: ScaffoldedPipeline,
  args: readonly string[],
  options: { env?: Readonly<Record<string, string | undefined>>; group?: boolean } = {},
): RunningCli {
  return startCli(['in_corral.js', ...args], { cwd: pipe.root, ...options });
}

/** Fails the test with the command's whole output unless it exited with `code`. */
export function expectExit(result: CliResult, code: number): void {
  expect(result.code, describeResult(result)).toBe(code);
}
