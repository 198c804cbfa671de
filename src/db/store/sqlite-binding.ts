import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * better-sqlite3's compiled addon, named to it directly (its `nativeBinding` option).
 * Without it better-sqlite3 asks the `bindings` package, which reads a stack trace to
 * find the package and tries a dozen folders in turn: some 4–5 ms of every process
 * that opens SQLite. The addon is where the package's install puts it
 * (build/Release/better_sqlite3.node); a package built another way (a Debug build, a
 * relocated prebuild) has no file there, and better-sqlite3 then finds its addon as usual.
 */
let addon: string | null | undefined;

export function sqliteAddonPath(): string | undefined {
  if (addon === undefined) {
    try {
      // Resolved as knex resolves its driver: from corral's own location.
      const file = path.join(path.dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
      addon = fs.existsSync(file) ? file : null;
    } catch {
      addon = null;
    }
  }
  return addon ?? undefined;
}
