/**
 * scripts/check-layers.js, the import check of `npm run lint`, run as lint runs it: a
 * subprocess on this repository, and on copies of src/ with one bad import added.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';
import { withTempDir } from '../helpers/temp-dir.js';

const CHECKER = path.join(REPO_ROOT, 'scripts', 'check-layers.js');

function check(root: string) {
  const result = spawnSync(process.execPath, [CHECKER, root], { encoding: 'utf8' });
  return { code: result.status, stderr: result.stderr };
}

/** Runs the checker on a copy of src/ (templates/ beside it) where `change` has edited some files. */
async function checkChangedCopy(change: (src: string) => void) {
  return withTempDir((root) => {
    fs.cpSync(path.join(REPO_ROOT, 'src'), path.join(root, 'src'), { recursive: true });
    // templates/qa/pipeline.test.js imports qa/vitest-runtime.ts: a use the dead-code check must see.
    fs.cpSync(path.join(REPO_ROOT, 'templates'), path.join(root, 'templates'), { recursive: true });
    change(path.join(root, 'src'));
    return check(root);
  }, 'corral-layers-');
}

function append(file: string, text: string): void {
  fs.appendFileSync(file, `\n${text}\n`);
}

function lineOf(file: string, text: string): number {
  return fs.readFileSync(file, 'utf8').split('\n').indexOf(text) + 1;
}

describe('check-layers', () => {
  test('when run on corral itself then it passes, and npm run lint runs it', () => {
    const result = check(REPO_ROOT);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.lint).toContain('node scripts/check-layers.js');
  });

  test('when db imports cli (even a type) then it fails naming the file, the line and the allowed folders', async () => {
    let line = 0;
    const result = await checkChangedCopy((src) => {
      const file = path.join(src, 'db', 'model.ts');
      append(file, "import type { RunOptions } from '../cli/main.js';\nexport type Upward = RunOptions;");
      line = lineOf(file, "import type { RunOptions } from '../cli/main.js';");
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`src/db/model.ts:${line}: db must not import cli (src/cli/main.ts); db may import core`);
  });

  test('when two modules import each other at run time then it fails naming the cycle', async () => {
    const result = await checkChangedCopy((src) => {
      append(path.join(src, 'run', 'loop.ts'), "import { executeProcessor } from './execute.js';\nexport const entry = executeProcessor;");
    });
    expect(result.code).toBe(1);
    // execute.ts → execute-loader.ts → loop.ts → execute.ts (the loops import loop.ts).
    const cycle = result.stderr.split('\n').find((line) => line.includes('import cycle at run time'));
    expect(cycle).toContain('src/run/loop.ts → src/run/execute.ts');
  });

  test('when the cycle is only through types then it passes', async () => {
    const result = await checkChangedCopy((src) => {
      // A plain import whose name is used only as a type: tsc drops it from the JavaScript.
      append(path.join(src, 'run', 'loop.ts'), "import { RunContext } from './execute.js';\nexport function contextOf(context: RunContext): RunContext { return context; }");
      append(path.join(src, 'run', 'execute.ts'), 'export const unusedContextOf = contextOf;');
      const execute = path.join(src, 'run', 'execute.ts');
      fs.writeFileSync(execute, `import { contextOf } from './loop.js';\n${fs.readFileSync(execute, 'utf8')}`);
      append(path.join(src, 'cli', 'main.ts'), "import { unusedContextOf } from '../run/execute.js';\nvoid unusedContextOf;");
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  test('when an export is used nowhere then it fails naming it', async () => {
    const result = await checkChangedCopy((src) => {
      append(path.join(src, 'core', 'table.ts'), 'export function neverCalled(): number { return 1; }');
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('src/core/table.ts: export neverCalled is used nowhere');
  });
});
