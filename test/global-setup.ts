import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './helpers/paths.js';

/**
 * Compiles src/ to dist/ once per `vitest run`: end-to-end tests and the forked
 * runner children execute dist/, which must match the src/ the unit tests see.
 * CORRAL_TEST_SKIP_BUILD=1 skips it when dist/ is known to be fresh.
 */
export default function setup(): void {
  if (process.env.CORRAL_TEST_SKIP_BUILD === '1') return;
  const result = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`Building dist/ failed (tsc -p tsconfig.build.json, exit ${String(result.status)}):\n${result.stdout}${result.stderr}`);
  }
}
