/**
 * The quality report's text, from a QualityResult built in the test: what it says
 * when tests fail or are skipped, processors are untested, and eslint found errors.
 * (test/e2e/qa-report.test.ts runs `qareport` on a real pipeline.)
 */
import { describe, expect, test } from 'vitest';
import { qaReportHtml, qaReportMarkdown } from '../../src/docs/qa-report.js';
import type { QualityResult } from '../../src/qa/quality.js';

function result(overrides: Partial<QualityResult> = {}): QualityResult {
  const total = { file: 'All files', lines: 0.5, statements: 0.5, functions: 0.5, branches: 0.5 };
  return {
    pipeline: 'sky',
    description: '',
    createdAt: '2026-12-06T00:00:00.000Z',
    versions: { corral: '0.1.0', node: 'v20.19.0' },
    subjects: [
      { name: 'Feed', kind: 'loader', tests: 0 },
      { name: 'Tidy', kind: 'step', tests: 2 },
    ],
    untested: ['Feed'],
    inputs: { testsPassed: false, testedProcessors: 1, processors: 2, coverage: 0.5, styleErrors: 1, files: 3, tau: 13 },
    qai: 0,
    grade: 'F',
    grades: { 0: 'F', 60: 'C' },
    coverage: { lineRate: 0.5, files: [], total, table: '' } as unknown as QualityResult['coverage'],
    tests: { passed: 2, failed: 1, skipped: 1, tests: [] } as unknown as QualityResult['tests'],
    testOutput: '   \n',
    style: { errors: 1, files: 3, messages: [{ file: 'sky/steps.ts', line: 4, column: 9, rule: 'no-unused-vars', message: "'x' is unused" }] },
    ...overrides,
  };
}

describe('qaReportMarkdown', () => {
  test('when a test failed, one was skipped, a processor is untested and eslint found an error then the report says each', () => {
    const report = qaReportMarkdown(result());
    expect(report).toContain('1 of 3 tests failed (the QAI is 0 until every test passes); 1 of 2 processors tested; coverage 50.00%; 1 style error.');
    expect(report).toContain('- **Tests passed:** `No` (2 of 3 run, 1 skipped)');
    expect(report).toContain('| Every test passed | Θ | 0 |');
    expect(report).toContain('**Untested processors:** `Feed`');
    // Empty outputs are shown as such, not as an empty block.
    expect(report).toContain('### 2.1 Tests\n\n```text\n(nothing)\n```');
    expect(report).toContain("1 style error(s) found by eslint:\n\n```text\nsky/steps.ts:4:9: no-unused-vars 'x' is unused\n```");
  });

  test('when everything passed and the options leave parts out then the report is short and says there is nothing to fix', () => {
    const report = qaReportMarkdown(
      result({
        description: 'The sky pipeline.',
        untested: [],
        inputs: { testsPassed: true, testedProcessors: 2, processors: 2, coverage: 1, styleErrors: 2, files: 3, tau: 13 },
        tests: { passed: 3, failed: 0, skipped: 0, tests: [] } as unknown as QualityResult['tests'],
        style: { errors: 0, files: 3, messages: [] },
      }),
      { explainQai: false, testOutput: false },
    );
    expect(report).toContain('All 3 tests passed; 2 of 2 processors tested; coverage 100.00%; 2 style errors.');
    expect(report).toContain('- **Tests passed:** `Yes` (3 of 3 run)');
    expect(report).toContain('\nThe sky pipeline.\n');
    expect(report).not.toContain('1.1 About the Quality Assurance Index');
    expect(report).not.toContain('### 2.1 Tests');
    expect(report).toContain('### 2.3 Maintainability & style\n\nNo style errors.');
    const every = qaReportMarkdown(result({ untested: [] }));
    expect(every).toContain('Every processor has at least one test.');
  });

  test('when the report is HTML then the headline is a styled block with the QAI and the grade', async () => {
    const html = await qaReportHtml(result({ qai: 0.5, grade: 'C&D' }));
    expect(html).toContain('<div id="qa-headline" class="headline" role="status"><span class="qai">QAI 50.00%</span><span class="grade">Grade C&amp;D</span></div>');
  });
});
