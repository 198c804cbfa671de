/**
 * The QA toolchain: one list (QA_TOOLS) at the versions of corral's devDependencies,
 * found as Node finds a bare import. The install itself is test/e2e/package-install.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { installCommand, isInstalled } from '../../src/qa/toolchain.js';
import { QA_TOOLCHAIN } from '../../src/version.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { withTempDir } from '../helpers/temp-dir.js';

const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('QA toolchain', () => {
  test("is pinned by corral's devDependencies, none a runtime dependency nor a peer (npm would install a peer with --omit=dev)", () => {
    const tools = ['@eslint/js', '@types/node', 'c8', 'eslint', 'typescript', 'typescript-eslint', 'vitest'];
    expect((manifest as { peerDependencies?: unknown }).peerDependencies).toBeUndefined();
    for (const tool of tools) {
      expect(manifest.dependencies[tool], tool).toBeUndefined();
      expect(manifest.devDependencies[tool], tool).toMatch(/^\d+\.\d+\.\d+$/);
    }
    expect(QA_TOOLCHAIN).toEqual(Object.fromEntries(tools.map((tool) => [tool, manifest.devDependencies[tool]])));
    expect(installCommand()).toBe(`npm install --save-dev ${tools.map((tool) => `${tool}@${manifest.devDependencies[tool]}`).join(' ')}`);
  });

  test('a tool is installed when a node_modules folder on the way up holds it', async () => {
    await withTempDir((dir) => {
      const from = path.join(dir, 'app', 'node_modules', 'corral');
      fs.mkdirSync(from, { recursive: true });
      fs.mkdirSync(path.join(dir, 'node_modules', '@types', 'node'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'node_modules', '@types', 'node', 'package.json'), '{}');
      fs.mkdirSync(path.join(dir, 'app', 'node_modules', 'vitest'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'app', 'node_modules', 'vitest', 'package.json'), '{}');
      // A folder without package.json is no install (npm leaves such folders behind).
      fs.mkdirSync(path.join(dir, 'app', 'node_modules', 'c8'), { recursive: true });
      expect(isInstalled('vitest', from)).toBe(true);
      expect(isInstalled('@types/node', from)).toBe(true);
      expect(isInstalled('c8', from)).toBe(false);
      expect(isInstalled('eslint', from)).toBe(false);
    });
  });
});
