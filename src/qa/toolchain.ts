/**
 * The QA toolchain (vitest, c8, eslint, typescript…) is not a runtime dependency of
 * corral: a pipeline lists it as its own devDependencies (the scaffold does), so that
 * `npm ci --omit=dev` on a server installs only what `run-all` needs. The commands
 * that use it check for it first and, when it is missing, say what to install.
 *
 * The list and the versions come from corral's package.json (`QA_TOOLCHAIN`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError } from '../core/errors.js';
import { QA_TOOLCHAIN } from '../version.js';

/** corral's own folder (the one with package.json). */
const CORRAL_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Whether `name` resolves from corral's own code, walking up `node_modules` folders
 * as Node's resolution does for a bare specifier (corral imports the tools itself).
 */
export function isInstalled(name: string, from = fs.realpathSync(CORRAL_ROOT)): boolean {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'node_modules', name, 'package.json'))) return true;
    if (path.dirname(dir) === dir) return false;
  }
}

/** `npm install --save-dev vitest@4.1.12 …`: the whole toolchain, so that the next QA command works too. */
export function installCommand(): string {
  return `npm install --save-dev ${Object.entries(QA_TOOLCHAIN)
    .map(([name, version]) => `${name}@${version}`)
    .join(' ')}`;
}

/**
 * Throws one CommandError, naming the missing packages and the command that installs
 * them, when one of `tools` is not installed. Called before the command opens anything.
 */
export function requireToolchain(command: string, tools: readonly string[]): void {
  const missing = tools.filter((tool) => !isInstalled(tool));
  if (missing.length === 0) return;
  throw new CommandError(`'${command}' needs the QA toolchain, which is not installed here (missing: ${missing.join(', ')})`, {
    hint: `Install the pipeline's devDependencies (npm install, without --omit=dev), or: ${installCommand()}`,
  });
}
