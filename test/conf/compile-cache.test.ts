import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { compileCacheDir, compileSettings, hash64 } from '../../src/conf/compile-cache.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';

/** The compiled settings module, or undefined when the package is left to tsx. */
async function compiledModuleFor(settingsFile: string): Promise<string | undefined> {
  return (await compileSettings(settingsFile)).file;
}

/** A pipeline-like package folder: `<root>/pkg/*.ts`, with no dependency on corral. */
function writePackage(files: Record<string, string>): { root: string; settings: string } {
  const root = makeTempDir('corral-compile-');
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return { root, settings: path.join(root, 'pkg', 'settings.ts') };
}

async function importFresh(file: string): Promise<Record<string, unknown>> {
  return (await import(`${pathToFileURL(file).href}?t=${Date.now()}`)) as Record<string, unknown>;
}

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) removeDir(root);
});

function track<T extends { root: string }>(value: T): T {
  roots.push(value.root);
  return value;
}

describe('the compile cache', () => {
  it('compiles the package once into .corral/build and reuses the build while no file changes', async () => {
    const pkg = track(
      writePackage({
        'pkg/settings.ts': "import { Step } from './steps.js';\nimport { factor } from './sub/util';\nexport default { name: 'demo', steps: [Step], factor: factor as number };\n",
        'pkg/steps.ts': 'export class Step { static conditions: unknown[] = []; process(row: { x: number }): number { return row.x * 2; } }\n',
        'pkg/sub/util.ts': 'export const factor: number = 3;\n',
      }),
    );
    const first = await compiledModuleFor(pkg.settings);
    expect(first).toBeDefined();
    expect(first!.startsWith(compileCacheDir(pkg.settings))).toBe(true);
    expect(first!.endsWith('settings.mjs')).toBe(true);
    const loaded = await importFresh(first!);
    const settings = loaded.default as { name: string; steps: { name: string }[]; factor: number };
    expect(settings.name).toBe('demo');
    // Class names are processor names: the build must keep them.
    expect(settings.steps[0]!.name).toBe('Step');
    expect(settings.factor).toBe(3);

    const second = await compiledModuleFor(pkg.settings);
    expect(second).toBe(first);
    expect(fs.readdirSync(compileCacheDir(pkg.settings))).toHaveLength(1);
  });

  it('builds again when a source file changes, and the new code is what runs', async () => {
    const pkg = track(writePackage({ 'pkg/settings.ts': "export default { name: 'v1' };\n" }));
    const first = await compiledModuleFor(pkg.settings);
    fs.writeFileSync(pkg.settings, "export default { name: 'version-two' };\n");
    const later = new Date(Date.now() + 2000);
    fs.utimesSync(pkg.settings, later, later);
    const second = await compiledModuleFor(pkg.settings);
    expect(second).not.toBe(first);
    expect(((await importFresh(second!)).default as { name: string }).name).toBe('version-two');
  });

  it('keeps import.meta.url naming the source file, so data paths next to the sources still work', async () => {
    const pkg = track(
      writePackage({
        'pkg/settings.ts': [
          "import fs from 'node:fs';",
          "import data from './data.json' with { type: 'json' };",
          "const text = fs.readFileSync(new URL('./notes.txt', import.meta.url), 'utf8');",
          'export default { text, data, dir: import.meta.dirname, file: import.meta.filename };',
        ].join('\n'),
        'pkg/notes.txt': 'next to the source',
        'pkg/data.json': '{"rows": 7}',
      }),
    );
    const compiled = await compiledModuleFor(pkg.settings);
    expect(compiled).toBeDefined();
    const value = (await importFresh(compiled!)).default as Record<string, unknown>;
    expect(value.text).toBe('next to the source');
    expect(value.data).toEqual({ rows: 7 });
    expect(value.dir).toBe(path.dirname(pkg.settings));
    expect(value.file).toBe(pkg.settings);
  });

  it('keeps imports by file URL and by absolute path pointing at their files', async () => {
    const outside = track(writePackage({ 'lib/data.js': 'export const rows = 42;\n' }));
    const dataFile = path.join(outside.root, 'lib', 'data.js');
    const pkg = track(
      writePackage({
        'pkg/settings.ts': [
          `import { rows } from ${JSON.stringify(pathToFileURL(dataFile).href)};`,
          `import { rows as again } from ${JSON.stringify(dataFile)};`,
          'export default { rows, again };',
        ].join('\n'),
      }),
    );
    const compiled = await compiledModuleFor(pkg.settings);
    expect(compiled).toBeDefined();
    expect((await importFresh(compiled!)).default).toEqual({ rows: 42, again: 42 });
  });

  it('leaves to tsx a package that imports TypeScript from outside its folder', async () => {
    const pkg = track(
      writePackage({
        'pkg/settings.ts': "import { shared } from '../lib/shared.js';\nexport default { shared };\n",
        'lib/shared.ts': 'export const shared: string = "x";\n',
      }),
    );
    expect(await compiledModuleFor(pkg.settings)).toBeUndefined();
    // No half-written build is left behind; the failure is remembered, with its reason, until a file changes.
    const dir = compileCacheDir(pkg.settings);
    const entries = fs.readdirSync(dir);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/^[0-9a-f]{16}\.failed$/);
    const outcome = await compileSettings(pkg.settings);
    expect(outcome.file).toBeUndefined();
    expect(outcome.reason).toContain('outside the pipeline package');
    // The shared file moves into the package: the next command compiles.
    fs.mkdirSync(path.join(pkg.root, 'pkg', 'lib'));
    fs.renameSync(path.join(pkg.root, 'lib', 'shared.ts'), path.join(pkg.root, 'pkg', 'lib', 'shared.ts'));
    fs.writeFileSync(pkg.settings, "import { shared } from './lib/shared.js';\nexport default { shared };\n");
    const later = new Date(Date.now() + 2000);
    fs.utimesSync(pkg.settings, later, later);
    const compiled = await compiledModuleFor(pkg.settings);
    expect(compiled).toBeDefined();
    expect((await importFresh(compiled!)).default).toEqual({ shared: 'x' });
  });

  it('reports a compile error as "not compiled", leaving tsx to report it', async () => {
    const pkg = track(writePackage({ 'pkg/settings.ts': 'export default { name: ;\n' }));
    expect(await compiledModuleFor(pkg.settings)).toBeUndefined();
  });
});

describe('the fingerprint hash', () => {
  it('gives 16 hex digits, the same for the same listing, and another for a listing one time or one byte apart', () => {
    const listing = 'steps.ts\u00001234\u00001796574867853.42\nmodels.ts\u0000987\u00001796574867000\n';
    expect(hash64(listing)).toMatch(/^[0-9a-f]{16}$/);
    expect(hash64(listing)).toBe(hash64(listing.slice()));
    const neighbours = [listing.replace('853.42', '853.43'), listing.replace('1234', '1235'), listing + 'x', listing.slice(1), ''];
    const hashes = new Set([listing, ...neighbours].map(hash64));
    expect(hashes.size).toBe(neighbours.length + 1);
  });
});
