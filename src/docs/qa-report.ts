import type { QualityResult } from '../qa/quality.js';
import { escapeHtml, htmlPage } from './html.js';

const percent = (value: number) => `${(value * 100).toFixed(2)}%`;
const HEADLINE = 'qa-headline';

export interface ReportOptions {
  readonly explainQai?: boolean;
  readonly testOutput?: boolean;
  /** Internal: leave a block for the HTML page's styled headline. */
  readonly headlineBlock?: boolean;
}

/** One sentence under the headline: whether the tests passed and what holds the QAI down. */
function headlineVerdict(r: QualityResult): string {
  const i = r.inputs;
  const run = r.tests.passed + r.tests.failed;
  const tests = i.testsPassed ? `All ${run} tests passed` : `${r.tests.failed} of ${run} tests failed (the QAI is 0 until every test passes)`;
  return `${tests}; ${i.testedProcessors} of ${i.processors} processors tested; coverage ${percent(i.coverage)}; ${i.styleErrors} style error${i.styleErrors === 1 ? '' : 's'}.`;
}
const fence = (text: string) => '```text\n' + (text.trimEnd() || '(nothing)') + '\n```\n';

/** The quality report in Markdown: summary, the QAI and its inputs, grades, then the full outputs. */
export function qaReportMarkdown(r: QualityResult, options: ReportOptions = {}): string {
  const i = r.inputs;
  const passed = r.tests.passed;
  const run = r.tests.passed + r.tests.failed;
  const lines: string[] = [];
  lines.push(`# ${r.pipeline} Quality Report`, '');
  // The headline: what a reader came for, before any detail.
  lines.push(options.headlineBlock ? `<div id="${HEADLINE}"></div>` : `## QAI ${percent(r.qai)} · Grade ${r.grade}`, '');
  lines.push(headlineVerdict(r), '');
  lines.push(`- **Created at:** ${r.createdAt}`, `- **Corral version:** ${r.versions.corral} (Node ${r.versions.node})`, '');
  if (r.description) lines.push(r.description, '');
  lines.push('## 1. Summary', '');
  lines.push(`- **Tests passed:** \`${i.testsPassed ? 'Yes' : 'No'}\` (${passed} of ${run} run${r.tests.skipped ? `, ${r.tests.skipped} skipped` : ''})`);
  lines.push(`- **Processors:** \`${i.processors}\` (loader, steps, alerts and commands), **tested:** \`${i.testedProcessors}\``);
  lines.push(`- **Coverage:** \`${percent(i.coverage)}\``);
  lines.push(`- **Maintainability & style errors:** \`${i.styleErrors}\` in \`${i.files}\` files`, '');
  lines.push(`- **QA Index:** \`${percent(r.qai)}\``, `- **QA Grade:** \`${r.grade}\``, '');
  if (options.explainQai !== false) {
    lines.push('### 1.1 About the Quality Assurance Index (QAI)', '');
    lines.push('QAI = 2 · Θ · (PT / PCN) · COV / (1 + exp(MSE / (τ · N<sub>f</sub>)))', '');
    lines.push(
      'Θ is 1 when every test passes and 0 otherwise; PT / PCN is the share of processors (loader, steps, alerts, commands) with at least one test; ' +
        'COV is the line coverage of the pipeline\'s files by the tests; MSE is the number of style errors, tolerated up to about τ per file over N<sub>f</sub> files. ' +
        'The factor 2 makes a perfect pipeline score 100%.',
      '',
    );
    lines.push('| Input | Symbol | Value |', '|---|---|---|');
    lines.push(`| Every test passed | Θ | ${i.testsPassed ? 1 : 0} |`);
    lines.push(`| Tested processors | PT | ${i.testedProcessors} |`);
    lines.push(`| Processors | PCN | ${i.processors} |`);
    lines.push(`| Line coverage | COV | ${i.coverage.toFixed(4)} |`);
    lines.push(`| Style errors | MSE | ${i.styleErrors} |`);
    lines.push(`| Source files | N<sub>f</sub> | ${i.files} |`);
    lines.push(`| Style tolerance per file | τ | ${i.tau.toFixed(2)} |`);
    lines.push(`| **QAI** | | **${r.qai.toFixed(4)}** |`, '');
    lines.push(r.untested.length ? `**Untested processors:** ${r.untested.map((n) => `\`${n}\``).join(', ')}` : 'Every processor has at least one test.', '');
    lines.push('| Processor | Kind | Tests |', '|---|---|---|');
    for (const s of r.subjects) lines.push(`| ${s.name} | ${s.kind} | ${s.tests} |`);
    lines.push('');
  }
  lines.push('### 1.2 About the grade', '', 'The grade is the label of the highest limit the QAI reaches:', '');
  lines.push('| QAI ≥ | Grade |', '|---|---|');
  for (const limit of Object.keys(r.grades).map(Number).sort((a, b) => a - b)) lines.push(`| ${limit.toFixed(2)}% | ${r.grades[limit]} |`);
  lines.push('');
  lines.push('## 2. Full output', '');
  if (options.testOutput !== false) lines.push('### 2.1 Tests', '', fence(r.testOutput));
  lines.push('### 2.2 Coverage', '', fence(r.coverage.table));
  lines.push('### 2.3 Maintainability & style', '');
  if (r.style.messages.length === 0) lines.push('No style errors.', '');
  else {
    lines.push(`${r.style.errors} style error(s) found by eslint:`, '');
    lines.push(fence(r.style.messages.map((m) => `${m.file}:${m.line}:${m.column}: ${m.rule} ${m.message}`).join('\n')));
  }
  return lines.join('\n');
}

export async function qaReportHtml(r: QualityResult, options: ReportOptions = {}): Promise<string> {
  const headline =
    `<div id="${HEADLINE}" class="headline" role="status"><span class="qai">QAI ${escapeHtml(percent(r.qai))}</span>` +
    `<span class="grade">Grade ${escapeHtml(r.grade)}</span></div>`;
  return htmlPage(`${r.pipeline} Quality Report`, qaReportMarkdown(r, { ...options, headlineBlock: true }), { [HEADLINE]: headline });
}
