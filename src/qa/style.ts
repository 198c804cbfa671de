import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedSettings } from '../conf/settings.js';
import { pipelineSourceFiles } from './source-files.js';

export interface StyleMessage {
  /** Relative to the pipeline folder. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly rule: string;
  readonly message: string;
}

export interface StyleResult {
  /** MSE of the QAI: every problem eslint reports. */
  readonly errors: number;
  readonly files: number;
  readonly messages: readonly StyleMessage[];
}

/**
 * Lints the pipeline's source files with its own `eslint.config.js` (the scaffold
 * writes one), or with corral's preset when the pipeline has none.
 */
export async function runStyle(settings: ResolvedSettings): Promise<StyleResult> {
  const { ESLint } = await import('eslint');
  const files = pipelineSourceFiles(settings);
  const ownConfig = ['eslint.config.js', 'eslint.config.mjs', 'eslint.config.ts'].some((name) => fs.existsSync(path.join(settings.root, name)));
  let eslint: InstanceType<typeof ESLint>;
  if (ownConfig) {
    eslint = new ESLint({ cwd: settings.root });
  } else {
    const preset = (await import('../../templates/eslint-preset.js' as string)) as { default: (root: string) => unknown };
    eslint = new ESLint({ cwd: settings.root, overrideConfigFile: true, baseConfig: preset.default(settings.root) as never });
  }
  const results = files.length ? await eslint.lintFiles(files) : [];
  const messages: StyleMessage[] = [];
  for (const result of results) {
    for (const m of result.messages) {
      messages.push({
        file: path.relative(settings.root, result.filePath),
        line: m.line ?? 0,
        column: m.column ?? 0,
        rule: m.ruleId ?? (m.fatal ? 'parse-error' : 'eslint'),
        message: m.message,
      });
    }
  }
  return { errors: messages.length, files: files.length, messages };
}
