import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedSettings } from '../conf/settings.js';

/** The pipeline's tests module: `tests.ts` (or `tests/index.ts`) beside the settings. */
export function findTestsModule(settings: ResolvedSettings): string | undefined {
  const dir = path.dirname(settings.settingsFile);
  const candidates = ['tests.ts', 'tests.js', 'tests.mts', path.join('tests', 'index.ts'), path.join('tests', 'index.js')];
  return candidates.map((c) => path.join(dir, c)).find((file) => fs.existsSync(file));
}
