/**
 * The pipeline's TypeScript, compiled once to plain JavaScript.
 *
 * Registering tsx costs every process ~150 ms: its loader runs on a separate thread
 * and every later import (corral's, knex's) goes through it. `run-all` forks one
 * child per processor, so that cost was paid N + 1 times. Instead, the first process
 * that needs the pipeline compiles its package folder with esbuild (the compiler tsx
 * itself uses, so the semantics are the same) into
 * `<pipeline>/.corral/build/<fingerprint>/`, and every process, children included,
 * imports that JavaScript with no loader at all.
 *
 * The fingerprint covers every source file's path, size and modification time, so an
 * edited file means a new build; checking it costs a directory walk and some stats.
 * Whatever cannot be compiled this way (a TypeScript import from outside the package
 * folder, an unwritable folder, a compile error) falls back to tsx: the cache is a
 * speed-up and never changes what the pipeline does. CORRAL_COMPILE_CACHE=0 turns it off.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { VERSION } from '../version.js';

const SOURCE = /\.(?:[cm]?ts|tsx)$/;
/** Builds kept side by side: a process started just before an edit may still import from its own. */
const KEEP_BUILDS = 3;
const COMPLETE = '.complete';

/** Whether the cache may be used in this process. */
export function compileCacheEnabled(): boolean {
  return process.env.CORRAL_COMPILE_CACHE !== '0';
}

/** The compiled settings module, or why the pipeline is loaded through tsx instead. */
export type CompileOutcome = { readonly file: string; readonly reason?: undefined } | { readonly file?: undefined; readonly reason: string };

/**
 * The compiled counterpart of `settingsFile` (an `.mjs` file), building it when no
 * current build exists; or why the pipeline must be loaded through tsx instead. A
 * build that failed is remembered
 * (`<fingerprint>.failed`, holding the reason) until a source file changes, so a
 * pipeline that needs tsx does not pay for a failed build on every command.
 */
export async function compileSettings(settingsFile: string): Promise<CompileOutcome> {
  const packageDir = path.dirname(settingsFile);
  const cacheDir = compileCacheDir(settingsFile);
  let failedMarker: string | undefined;
  try {
    const sources = listSources(packageDir);
    if (!sources.includes(settingsFile)) return { reason: `${settingsFile} is not among the package's TypeScript files` };
    const buildDir = path.join(cacheDir, fingerprint(packageDir, sources));
    failedMarker = `${buildDir}.failed`;
    if (fs.existsSync(failedMarker)) return { reason: fs.readFileSync(failedMarker, 'utf8') };
    if (!fs.existsSync(path.join(buildDir, COMPLETE))) await build(packageDir, sources, cacheDir, buildDir);
    return { file: path.join(buildDir, outputName(path.relative(packageDir, settingsFile))) };
  } catch (error) {
    const reason = describeFailure(error);
    if (failedMarker) {
      try {
        fs.writeFileSync(failedMarker, reason);
      } catch {
        // An unwritable folder: the next command tries again, and fails the same way.
      }
    }
    return { reason };
  }
}

function describeFailure(error: unknown): string {
  const errors = (error as { errors?: { text?: string }[] } | undefined)?.errors;
  if (Array.isArray(errors) && errors.length > 0) return errors.map((e) => e.text ?? String(e)).join('; ');
  return error instanceof Error ? error.message : String(error);
}

/** The TypeScript files of the package folder (not node_modules, not hidden folders, not .d.ts). */
function listSources(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listSources(full));
    else if (SOURCE.test(entry.name) && !/\.d\.[cm]?ts$/.test(entry.name)) found.push(full);
  }
  return found.sort();
}

function fingerprint(packageDir: string, sources: readonly string[]): string {
  let text = `corral ${VERSION} node ${process.versions.node} ${packageDir}\n`;
  for (const file of sources) {
    const stat = fs.statSync(file);
    text += `${path.relative(packageDir, file)}\0${stat.size}\0${stat.mtimeMs}\n`;
  }
  // tsconfig.json decides details of the output (decorators, class fields).
  for (const config of [path.join(packageDir, 'tsconfig.json'), path.join(path.dirname(packageDir), 'tsconfig.json')]) {
    if (fs.existsSync(config)) text += `${config}\0${fs.statSync(config).mtimeMs}\n`;
  }
  return hash64(text);
}

/**
 * 64 bits of hash of `text`, as 16 hex digits: two 32-bit FNV-1a lanes (different
 * offsets), each finished by MurmurHash3's mixer. Not cryptographic: it only has to
 * tell one listing of the sources' sizes and times from another, and computing it
 * in JavaScript spares every command loading node:crypto (~8 ms of its start).
 */
export function hash64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x6b43a9b5;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x01000193) ^ (a >>> 15);
  }
  return mix32(a).toString(16).padStart(8, '0') + mix32(b ^ text.length).toString(16).padStart(8, '0');
}

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** `steps.ts` → `steps.mjs`: `.mjs` is ESM whatever the nearest package.json says. */
function outputName(relative: string): string {
  return relative.replace(SOURCE, '.mjs');
}

async function build(packageDir: string, sources: readonly string[], cacheDir: string, buildDir: string): Promise<void> {
  const { build: esbuild } = await import('esbuild');
  fs.mkdirSync(cacheDir, { recursive: true });
  // Built aside and renamed into place, so a concurrent process never imports half a build.
  const temporary = `${buildDir}.tmp-${process.pid}-${process.getBuiltinModule('node:crypto').randomBytes(3).toString('hex')}`;
  try {
    await esbuild({
      entryPoints: [...sources],
      outdir: temporary,
      outbase: packageDir,
      outExtension: { '.js': '.mjs' },
      // "Bundling" with every import external transforms each file on its own while
      // letting the plugin rewrite where its imports point.
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      sourcemap: 'inline',
      // Processor names are class names: never let a rename change one.
      keepNames: true,
      logLevel: 'silent',
      plugins: [keepImportsPlugin(packageDir)],
    });
    fs.writeFileSync(path.join(temporary, COMPLETE), '');
    try {
      fs.renameSync(temporary, buildDir);
    } catch (error) {
      // Another process finished the same build first: use theirs.
      if (!fs.existsSync(path.join(buildDir, COMPLETE))) throw error;
    }
  } finally {
    fs.rmSync(temporary, { recursive: true, force: true });
  }
  pruneOldBuilds(cacheDir, buildDir);
}

function pruneOldBuilds(cacheDir: string, current: string): void {
  const builds = fs
    .readdirSync(cacheDir)
    .map((name) => path.join(cacheDir, name))
    .filter((dir) => dir !== current && !dir.includes('.tmp-'))
    .map((dir) => ({ dir, time: fs.statSync(dir).mtimeMs }))
    .sort((a, b) => b.time - a.time);
  for (const { dir } of builds.slice(KEEP_BUILDS - 1)) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Keeps every import as an import, pointing where it pointed from the source file:
 * packages stay bare (resolved from the pipeline folder as before), the package's own
 * TypeScript files become their compiled siblings, and any other file (JSON, plain
 * JavaScript) is imported from its original place. `import.meta.url`, `dirname` and
 * `filename` keep naming the source file, so paths built from them still work.
 */
function keepImportsPlugin(packageDir: string): Plugin {
  const inside = packageDir + path.sep;
  return {
    name: 'corral-keep-imports',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || (args.pluginData as { inner?: boolean } | undefined)?.inner) return undefined;
        const specifier = args.path;
        if (!specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('file:')) return { path: specifier, external: true };
        let target: string;
        if (specifier.startsWith('file:')) {
          // esbuild does not resolve URLs; a file URL names its file exactly.
          target = fileURLToPath(specifier);
        } else {
          const resolved = await build.resolve(specifier, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { inner: true } });
          if (resolved.errors.length > 0) return { errors: resolved.errors };
          target = resolved.path;
        }
        if (SOURCE.test(target)) {
          if (!target.startsWith(inside) || target.includes(`${path.sep}node_modules${path.sep}`)) {
            return { errors: [{ text: `${specifier} is TypeScript outside the pipeline package (${target}): left to tsx` }] };
          }
          let relative = path.relative(path.dirname(args.importer), outputName(target)).split(path.sep).join('/');
          if (!relative.startsWith('.')) relative = `./${relative}`;
          return { path: relative, external: true };
        }
        return { path: pathToFileURL(target).href, external: true };
      });
      build.onLoad({ filter: SOURCE }, (args) => {
        const text = fs.readFileSync(args.path, 'utf8');
        const meta: Record<string, string> = {
          url: pathToFileURL(args.path).href,
          filename: args.path,
          dirname: path.dirname(args.path),
        };
        const contents = text.replace(/\bimport\.meta\.(url|filename|dirname)\b/g, (_, key: string) => JSON.stringify(meta[key]));
        return { contents, loader: args.path.endsWith('.tsx') ? 'tsx' : 'ts' };
      });
    },
  };
}

/** Where a pipeline's builds live: `.corral/build` beside its package folder. */
export function compileCacheDir(settingsFile: string): string {
  return path.join(path.dirname(path.dirname(settingsFile)), '.corral', 'build');
}
