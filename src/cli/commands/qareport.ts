import fs from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import { CommandError } from '../../core/errors.js';
import { qaReportHtml, qaReportMarkdown } from '../../docs/qa-report.js';
import { assessQuality } from '../../qa/quality.js';
import { defineCommand, envOf } from '../command-spec.js';

/**
 * `--fail-under 90` and `--fail-under 0.9` both mean 90 %: values from 1 up are
 * percent (`1` is 1 %), values below 1 are fractions.
 */
export function parseThreshold(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0 || number > 100) {
    throw new CommandError(`--fail-under takes a QAI between 0 and 100 (percent) or 0 and 1, got '${value}'`);
  }
  return number >= 1 ? number / 100 : number;
}

/** The options of `qareport`, as `configure` declares them. */
type QareportOptions = { output?: string; format?: 'md' | 'html' | 'json'; failUnder?: string; notExplainQai?: boolean; excludeTestOutput?: boolean };

export const qareport = defineCommand<QareportOptions>({
  name: 'qareport',
  summary: 'Run tests, coverage and style once; write the quality report with the Quality Assurance Index (QAI)',
  mode: 'out',
  toolchain: ['vitest', 'c8', 'eslint', '@eslint/js', 'typescript-eslint', 'typescript'],
  importsSources: true,
  configure(cmd) {
    cmd
      .option('-o, --output <file>', 'write the report to this file (default: standard output)')
      .addOption(new Option('--format <format>', 'report format (default: from the file extension, else md)').choices(['md', 'html', 'json']))
      .option('--fail-under <qai>', 'exit with code 2 when the QAI is below this (percent from 1 up, e.g. 90, or a fraction below 1, e.g. 0.9)')
      .option('--not-explain-qai', 'leave out the explanation of the QAI')
      .option('--exclude-test-output', 'leave out the full test output (also -et)');
  },
  async handle(context, options) {
    const env = envOf(context);
    const threshold = options.failUnder === undefined ? undefined : parseThreshold(String(options.failUnder));
    const output: string | undefined = options.output;
    const extension = output ? path.extname(output).slice(1).toLowerCase() : '';
    const format: string = options.format ?? (['html', 'json', 'md'].includes(extension) ? extension : extension === 'htm' ? 'html' : 'md');
    context.output.err('Running tests, coverage and style checks; this takes a moment...\n');
    const result = await assessQuality(env.settings);
    const renderOptions = { explainQai: !options.notExplainQai, testOutput: !options.excludeTestOutput };
    const text =
      format === 'json' ? JSON.stringify(result, null, 2) + '\n' : format === 'html' ? await qaReportHtml(result, renderOptions) : qaReportMarkdown(result, renderOptions);
    if (output) {
      fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
      fs.writeFileSync(output, text);
      context.output.err(`Wrote the quality report to ${output}\n`);
    } else {
      context.output.out(text);
    }
    context.output.err(`QAI ${(result.qai * 100).toFixed(2)}% (grade ${result.grade})${result.untested.length ? `; untested: ${result.untested.join(', ')}` : ''}\n`);
    if (threshold !== undefined && result.qai < threshold - 1e-12) {
      context.output.err(`Error: the QAI ${(result.qai * 100).toFixed(2)}% is below --fail-under ${(threshold * 100).toFixed(2)}%\n`);
      return 2;
    }
    return 0;
  },
});
