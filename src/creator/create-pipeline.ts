import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../core/errors.js';
import type { Output } from '../core/output.js';
import { QA_TOOLCHAIN, VERSION } from '../version.js';
import { renderTemplate } from './render.js';
import { validateName } from './validate-name.js';

/** corral's own folder (the one with package.json and templates/). */
export const CORRAL_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATE_DIR = path.join(CORRAL_ROOT, 'templates', 'pipeline');
/** In the template tree, the folder that becomes the pipeline package. */
const PACKAGE_PLACEHOLDER = '__name__';

export interface CreateContext {
  /** Where the pipeline folder goes (the argument of `create`). */
  readonly target: string;
  readonly output: Output;
  readonly dryRun: boolean;
}

export interface PlannedFile {
  readonly path: string;
  readonly content: string;
  readonly executable: boolean;
}

/**
 * How the new pipeline depends on corral: the published version when corral was
 * installed from the registry, else this very checkout as a `file:` link, so
 * `npm install` in the new pipeline works offline.
 */
export function corralDependency(root = CORRAL_ROOT): string {
  return root.split(path.sep).includes('node_modules') ? `^${VERSION}` : `file:${path.resolve(root)}`;
}

export function checkTarget(context: Pick<CreateContext, 'target'>): { name: string; dir: string } {
  const dir = path.resolve(context.target);
  const name = path.basename(dir);
  validateName(name);
  if (fs.existsSync(dir)) throw new ValidationError(`'${dir}' already exists`, { hint: 'Choose another name or remove that folder' });
  if (!fs.existsSync(path.dirname(dir))) throw new ValidationError(`The folder '${path.dirname(dir)}' does not exist`);
  return { name, dir };
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}

/** The files of the new pipeline, rendered but not yet written. */
export function planFiles(name: string, dir: string, templateDir = TEMPLATE_DIR): PlannedFile[] {
  const values = {
    name,
    version: VERSION,
    corralDependency: corralDependency(),
    // The QA toolchain at corral's tested versions: `npm ci --omit=dev` on a server leaves it out.
    qaDevDependencies: JSON.stringify(QA_TOOLCHAIN, null, 2).replace(/\n/g, '\n  '),
    createdAt: new Date().toISOString(),
  };
  return walk(templateDir)
    .sort()
    .map((source) => {
      const relative = path
        .relative(templateDir, source)
        .split(path.sep)
        .map((part) => (part === PACKAGE_PLACEHOLDER ? name : part.replace(/-tpl$/, '').replace(/^_gitignore$/, '.gitignore')))
        .join(path.sep);
      return { path: path.join(dir, relative), content: renderTemplate(fs.readFileSync(source, 'utf8'), values), executable: relative === 'in_corral.js' };
    });
}

export function writeFiles(files: readonly PlannedFile[]): void {
  for (const file of files) {
    fs.mkdirSync(path.dirname(file.path), { recursive: true });
    fs.writeFileSync(file.path, file.content, { mode: file.executable ? 0o755 : 0o644, flag: 'wx' });
  }
}

/** `corral create NAME`: validate, render, write, and say what to do next. */
export function createPipeline(context: CreateContext): PlannedFile[] {
  const { name, dir } = checkTarget(context);
  const files = planFiles(name, dir);
  if (context.dryRun) {
    context.output.out(`Would create the pipeline '${name}' in ${dir}:\n`);
  } else {
    writeFiles(files);
    context.output.out(`Created the pipeline '${name}' in ${dir}:\n`);
  }
  for (const file of files) context.output.out(`  ${path.relative(path.dirname(dir), file.path)}\n`);
  context.output.out(
    `\nNext:\n  cd ${path.relative(process.cwd(), dir) || '.'}\n  npm install\n  node in_corral.js createdb --noinput\n  node in_corral.js run-all\n  node in_corral.js test\n`,
  );
  return files;
}
