import { Option } from 'commander';
import { CommandError } from '../../core/errors.js';
import { qaReportHtml, qaReportMarkdown } from '../../docs/qa-report.js';
import { assessQuality } from '../../qa/quality.js';
import { defineCommand, envOf } from '../command-spec.js';
import { documentTarget, writeDocument, type DocumentFormats } from '../document-output.js';

const REPORT_FORMATS: DocumentFormats<'md' | 'html' | 'json'> = { extensions: { md: ['md'], html: ['html', 'htm'], json: ['json'] }, standardOutput: 'md' };

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
      .addOption(new Option('--format <format>', 'report format (default: from the file extension; md on standard output)').choices(Object.keys(REPORT_FORMATS.extensions)))
      .option('--fail-under <qai>', 'exit with code 2 when the QAI is below this (percent from 1 up, e.g. 90, or a fraction below 1, e.g. 0.9)')
      .option('--not-explain-qai', 'leave out the explanation of the QAI')
      .option('--exclude-test-output', 'leave out the full test output (also -et)');
  },
  async handle(context, options) {
    const env = envOf(context);
    const threshold = options.failUnder === undefined ? undefined : parseThreshold(String(options.failUnder));
    const target = documentTarget(options, REPORT_FORMATS);
    context.output.err('Running tests, coverage and style checks; this takes a moment...\n');
    const result = await assessQuality(env.settings);
    const renderOptions = { explainQai: !options.notExplainQai, testOutput: !options.excludeTestOutput };
    const text =
      target.format === 'json' ? JSON.stringify(result, null, 2) + '\n' : target.format === 'html' ? await qaReportHtml(result, renderOptions) : qaReportMarkdown(result, renderOptions);
    writeDocument(context.output, target, text, 'the quality report');
    context.output.err(`QAI ${(result.qai * 100).toFixed(2)}% (grade ${result.grade})${result.untested.length ? `; untested: ${result.untested.join(', ')}` : ''}\n`);
    if (threshold !== undefined && result.qai < threshold - 1e-12) {
      context.output.err(`Error: the QAI ${(result.qai * 100).toFixed(2)}% is below --fail-under ${(threshold * 100).toFixed(2)}%\n`);
      return 2;
    }
    return 0;
  },
});
