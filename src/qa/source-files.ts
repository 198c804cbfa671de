import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedSettings } from '../conf/settings.js';

const SOURCE = /\.(?:[cm]?[jt]s|tsx)$/;
const SKIPPED_DIRS = new Set(['node_modules', 'coverage', 'dist', '.git']);

/** The pipeline package: the folder of its settings module. */
export function packageDir(settings: ResolvedSettings): string {
  return path.dirname(settings.settingsFile);
}

/**
 * The pipeline's own source files (N_f of the QAI): every script in its package
 * folder, tests included as in the original, dependencies and outputs excluded.
 */
export function pipelineSourceFiles(settings: ResolvedSettings): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) walk(path.join(dir, entry.name));
      } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        found.push(path.join(dir, entry.name));
      }
    }
  };
  walk(packageDir(settings));
  return found.sort();
}
