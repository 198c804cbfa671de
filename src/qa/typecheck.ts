import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedSettings } from '../conf/settings.js';
import { CommandError } from '../core/errors.js';

export interface TypeDiagnostic {
  /** Relative to the pipeline folder; empty for an error of the configuration itself. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** `TS2322` */
  readonly code: string;
  readonly message: string;
}

export interface TypecheckResult {
  readonly errors: readonly TypeDiagnostic[];
  /** The pipeline's own files that were checked (not corral's or other packages'). */
  readonly files: number;
}

/**
 * Type-checks the pipeline with the TypeScript that comes with corral and the
 * pipeline's own tsconfig.json (the scaffold writes one). Nothing is emitted. Running
 * the compiler in-process spares users from finding a `tsc` in their node_modules,
 * which a linked checkout of corral does not provide.
 */
export async function runTypecheck(settings: ResolvedSettings): Promise<TypecheckResult> {
  const configFile = path.join(settings.root, 'tsconfig.json');
  if (!fs.existsSync(configFile)) {
    throw new CommandError(`No tsconfig.json in ${settings.root}`, {
      hint: '`corral create` writes one; copy it from a new scaffold, or write your own with "noEmit": true',
    });
  }
  const ts = (await import('typescript')).default;
  const read = ts.readConfigFile(configFile, (file) => ts.sys.readFile(file));
  const parsed = read.error ? undefined : ts.parseJsonConfigFileContent(read.config, ts.sys, settings.root, { noEmit: true }, configFile);
  const configErrors = read.error ? [read.error] : parsed!.errors;
  if (configErrors.length > 0 || !parsed) return { errors: configErrors.map((d) => describe(ts, d, settings.root)), files: 0 };
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences ?? [] });
  const errors = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => describe(ts, d, settings.root));
  return { errors, files: parsed.fileNames.length };
}

function describe(ts: typeof import('typescript'), diagnostic: import('typescript').Diagnostic, root: string): TypeDiagnostic {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
  const code = `TS${diagnostic.code}`;
  if (!diagnostic.file || diagnostic.start === undefined) return { file: '', line: 0, column: 0, code, message };
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  return { file: path.relative(root, diagnostic.file.fileName), line: line + 1, column: character + 1, code, message };
}
