/**
 * `style` from the command line: the pipeline's own eslint.config.js (the scaffold's
 * is corral/eslint) on its source files; each problem as file:line:col, the rule and
 * the message, then the count; exit 1 when there is any.
 */
import fs from 'node:fs';
import { beforeAll, expect, test } from 'vitest';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-style-');
let pipe: ScaffoldedPipeline;

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'stylepipe');
});

test('when style runs on a fresh scaffold then it finds no problem in any of its files and exits 0', async () => {
  const result = await pipe.cli(['style']);
  expectExit(result, 0);
  const files = fs.readdirSync(pipe.packageDir).filter((name) => name.endsWith('.ts')).length;
  expect(result.stdout).toBe(`0 style error(s) in ${files} file(s)\n`);
});

test('when a step holds an unused variable and an any then style names each at its file, line and column, counts them, and exits 1', async () => {
  const lines = fs.readFileSync(pipe.file('steps.ts'), 'utf8').split('\n');
  const at = lines.findIndex((line) => line.startsWith('import ')) + 1;
  lines.splice(at, 0, 'const unused = 1;', 'export const loose: any = 2;');
  fs.writeFileSync(pipe.file('steps.ts'), lines.join('\n'));
  const result = await pipe.cli(['style']);
  expectExit(result, 1);
  const output = result.stdout.trimEnd().split('\n');
  expect(output).toHaveLength(3);
  expect(output[0]).toMatch(new RegExp(`^stylepipe/steps\\.ts:${at + 1}:7: @typescript-eslint/no-unused-vars .*'unused'`));
  expect(output[1]).toMatch(new RegExp(`^stylepipe/steps\\.ts:${at + 2}:21: @typescript-eslint/no-explicit-any `));
  expect(output[2]).toMatch(/^2 style error\(s\) in \d+ file\(s\)$/);
});
