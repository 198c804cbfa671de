import { runCoverage } from '../../qa/coverage.js';
import { defineCommand, envOf, type NoOptions } from '../command-spec.js';

export const coverage = defineCommand<NoOptions>({
  name: 'coverage',
  summary: "Run the tests with V8 coverage of the pipeline's source files (forked processes included): a table per file and the total",
  mode: 'out',
  toolchain: ['vitest', 'c8'],
  importsSources: true,
  async handle(context) {
    const env = envOf(context);
    const result = await runCoverage(env.settings);
    context.output.err(result.testOutput);
    context.output.out(result.table);
    context.output.out(`\nLine coverage: ${(result.lineRate * 100).toFixed(2)}% of ${result.total.lines.total} lines in ${result.files.length} files\n`);
    if (result.tests.failed > 0 || result.exitCode !== 0) {
      context.output.err(`Error: ${result.tests.failed} test(s) failed; the coverage above is of a failing run\n`);
      return 1;
    }
    return 0;
  },
});
