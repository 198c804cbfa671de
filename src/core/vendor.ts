import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/**
 * A package bundled into one file of dist/vendor/ by scripts/bundle-vendor.js (knex,
 * pino), loaded with the V8 code cache the build wrote beside it (`<file>.v8cache`):
 * compiling a bundle of some 100–440 kB costs every process that loads it ~20 ms of
 * CPU, which the cache saves. A cache that does not fit this Node (another version, other
 * flags) is rejected by V8 and the source is compiled as usual: only slower. Without
 * the bundle (corral running from its sources, in its own tests) the package itself is required.
 */
const require = createRequire(import.meta.url);

/** The CommonJS wrapper, the same text as scripts/bundle-vendor.js uses when it makes the cache (V8 checks the source). */
export const VENDOR_WRAPPER = ['(function (exports, require, module, __filename, __dirname, __vendorImport) {\n', '\n})'] as const;

/** Whether V8 rejected the code cache of each bundle loaded (for the build's test). */
export const vendorCacheRejected = new Map<string, boolean>();

export function requireVendor<T>(name: string, packageName: string): T {
  const file = fileURLToPath(new URL(`../vendor/${name}.cjs`, import.meta.url));
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return require(packageName) as T;
  }
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(`${file}.v8cache`);
  } catch {
    // No cache (a build without it): compiled from the source.
  }
  // lineOffset -1: the wrapper's first line, so that stacks give the bundle's own line numbers.
  const script = new vm.Script(VENDOR_WRAPPER[0] + source + VENDOR_WRAPPER[1], { filename: file, lineOffset: -1, ...(cachedData ? { cachedData } : {}) });
  vendorCacheRejected.set(name, cachedData === undefined || script.cachedDataRejected === true);
  const module = { exports: {} as unknown };
  // `__vendorImport`: the bundle's `import()` (knex's, of an ES-module migration file), which a vm.Script cannot do itself.
  const vendorImport = (specifier: unknown) => import(String(specifier));
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, path.dirname(file), vendorImport);
  return module.exports as T;
}
