/**
 * `style` in this process on pipeline folders written by the test: eslint with the
 * pipeline's own config, every problem a message with file, line, column and rule.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { resolveSettings } from '../../src/conf/settings.js';
import { runStyle } from '../../src/qa/style.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

async function styleOf(files: Record<string, string>) {
  const dir = makeTempDir('corral-style-');
  try {
    fs.mkdirSync(path.join(dir, 'sky'));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return await runStyle(resolveSettings({ name: 'sky', connection: 'sqlite:sky.db', models: [] }, path.join(dir, 'sky', 'settings.ts')));
  } finally {
    removeDir(dir);
  }
}

describe('runStyle', () => {
  test("when the pipeline has its own eslint config then its rules apply; a parse error and an ignored file are reported too", async () => {
    const result = await styleOf({
      'eslint.config.js': "export default [{ ignores: ['sky/ignored.js'] }, { rules: { 'no-unused-vars': 'error' } }];\n",
      'sky/a.js': 'const unused = 1;\n',
      'sky/broken.js': 'let = ;\n',
      'sky/ignored.js': 'const alsoUnused = 1;\n',
    });
    expect(result.files).toBe(3);
    expect(result.errors).toBe(3);
    const byFile = Object.fromEntries(result.messages.map((m) => [m.file, m]));
    expect(byFile[path.join('sky', 'a.js')]).toMatchObject({ line: 1, column: 7, rule: 'no-unused-vars' });
    expect(byFile[path.join('sky', 'broken.js')]).toMatchObject({ line: 1, rule: 'parse-error' });
    expect(byFile[path.join('sky', 'ignored.js')]).toMatchObject({ line: 0, column: 0, rule: 'eslint' });
    expect(byFile[path.join('sky', 'ignored.js')]!.message).toMatch(/ignored/i);
  });

  test("when the pipeline has no eslint config and no source file then corral's preset finds nothing to check", async () => {
    expect(await styleOf({})).toEqual({ errors: 0, files: 0, messages: [] });
  });
});
