/**
 * `qareport` on the QA fixture pipeline (test/fixtures/qa-pipeline): a loader, three
 * steps (Flag has no TestCase), one alert, one command, and one unused variable in
 * steps.ts. Each report runs the tests with coverage and eslint (~10 s), so the
 * two runs are shared by every assertion below. The reports are made with the default
 * test database and with a PostgreSQL `testConnection`: the same report either way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { setTestConnection } from '../helpers/pipeline-db.js';
import { expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase, pgDatabaseForFile } from '../helpers/postgres.js';
import {
  copyQaPipeline,
  packageSourceFiles,
  qaiByHand,
  readJson,
  STYLE_ERROR,
  summaryLine,
  type QaReportJson,
} from '../helpers/qa-pipeline.js';
import type { CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-qareport-');

/** Processors the fixture registers: Loader; Clean, Scale, Flag; HighAlert; count. */
const PCN = 6;

forEachDatabase((dialect) => {
  let pipe: ScaffoldedPipeline;
  let jsonRun: CliResult;
  let report: QaReportJson;
  let markdownRun: CliResult;
  let markdown: string;
  const testDatabase = pgDatabaseForFile();

  beforeAll(async () => {
    pipe = copyQaPipeline(tempDir(), { folder: `qapipe-${dialect}` });
    if (dialect === 'postgres') setTestConnection(pipe, (await testDatabase()).url);
    const jsonFile = path.join(tempDir(), `report-${dialect}.json`);
    jsonRun = await pipe.cli(['qareport', '--format', 'json', '-o', jsonFile, '--fail-under', '99']);
    report = readJson<QaReportJson>(jsonFile);
    const markdownFile = path.join(tempDir(), `out-${dialect}`, 'report.md');
    markdownRun = await pipe.cli(['qareport', '-o', markdownFile, '--fail-under', '1']);
    markdown = fs.readFileSync(markdownFile, 'utf8');
  });

  describe('qareport --format json', () => {
    test('when every TestCase passes then Θ is 1 and the report lists every test as passed', () => {
      expect(report.pipeline).toBe('qapipe');
      expect(report.inputs.testsPassed).toBe(true);
      expect(report.tests.failed).toBe(0);
      expect(report.tests.passed).toBe(8);
      expect(report.tests.tests.every((t) => t.state === 'passed')).toBe(true);
    });

    test('when one step of six processors has no TestCase then PCN is 6, PT is 5 and the step is named as untested', () => {
      expect(report.inputs.processors).toBe(PCN);
      expect(report.inputs.testedProcessors).toBe(PCN - 1);
      expect(report.untested).toEqual(['Flag']);
      expect(report.subjects).toEqual([
        { name: 'Loader', kind: 'loader', tests: 1 },
        { name: 'Clean', kind: 'step', tests: 2 },
        { name: 'Scale', kind: 'step', tests: 3 },
        { name: 'Flag', kind: 'step', tests: 0 },
        { name: 'HighAlert', kind: 'alert', tests: 1 },
        { name: 'count', kind: 'command', tests: 1 },
      ]);
    });

    test("when the package holds 8 source files then N_f is the count of the package's files", () => {
      const files = packageSourceFiles(pipe);
      expect(files).toEqual(['alerts.ts', 'commands.ts', 'load.ts', 'models.ts', 'pipeline.ts', 'settings.ts', 'steps.ts', 'tests.ts']);
      expect(report.inputs.files).toBe(files.length);
      expect(report.style.files).toBe(files.length);
    });

    test('when one file has an unused variable then exactly one style error is counted, with its file:line:col', () => {
      expect(report.inputs.styleErrors).toBe(1);
      expect(report.style.errors).toBe(1);
      expect(report.style.messages).toEqual([
        {
          file: STYLE_ERROR.file,
          line: STYLE_ERROR.line,
          column: STYLE_ERROR.column,
          rule: STYLE_ERROR.rule,
          message: expect.stringContaining(`'${STYLE_ERROR.variable}' is assigned a value but never used`),
        },
      ]);
    });

    test("when the untested step's lines never run then coverage is below 1, and it is the covered share of the package's lines", () => {
      const { lines } = report.coverage.total;
      expect(report.inputs.coverage).toBe(report.coverage.lineRate);
      expect(report.inputs.coverage).toBeCloseTo(lines.covered / lines.total, 12);
      expect(report.inputs.coverage).toBeGreaterThan(0.8);
      expect(report.inputs.coverage).toBeLessThan(1);
      expect(report.coverage.files.map((f) => f.file).sort()).toEqual(packageSourceFiles(pipe).map((f) => path.join('qapipe', f)));
      expect(report.coverage.table).toMatch(/steps\.ts/);
    });

    test('when the QAI is worked out by hand from PT, PCN, the coverage, MSE, N_f and τ 13 then it equals the reported one', () => {
      expect(report.inputs.tau).toBe(13);
      const expected = (2 * 1 * ((PCN - 1) / PCN) * report.inputs.coverage) / (1 + Math.exp(1 / (13 * packageSourceFiles(pipe).length)));
      expect(report.qai).toBeCloseTo(expected, 12);
      expect(report.qai).toBeCloseTo(qaiByHand(report.inputs), 12);
      expect(report.grade).toBe(gradeOf(report.qai));
    });

    test('when --fail-under 99 is above the QAI then the report is still written and the exit code is 2', () => {
      expectExit(jsonRun, 2);
      expect(jsonRun.stdout).toBe('');
      expect(jsonRun.stderr).toContain(`QAI ${(report.qai * 100).toFixed(2)}% (grade ${report.grade}); untested: Flag`);
      expect(jsonRun.stderr).toContain(`Error: the QAI ${(report.qai * 100).toFixed(2)}% is below --fail-under 99.00%`);
    });
  });

  describe('qareport in Markdown', () => {
    test('when --fail-under 1 is below the QAI then the exit code is 0 and the report goes to the file', () => {
      expectExit(markdownRun, 0);
      expect(markdownRun.stdout).toBe('');
      expect(markdownRun.stderr).not.toContain('Error:');
      expect(summaryLine(markdownRun.stderr)).toEqual({ percent: (report.qai * 100).toFixed(2), grade: report.grade });
    });

    test('when the report is read then it shows the QAI, its grade and the inputs table', () => {
      const qaiPercent = (report.qai * 100).toFixed(2);
      expect(markdown).toMatch(/^# qapipe Quality Report$/m);
      expect(markdown).toContain(`- **QA Index:** \`${qaiPercent}%\``);
      expect(markdown).toContain(`- **QA Grade:** \`${report.grade}\``);
      for (const row of [
        '| Every test passed | Θ | 1 |',
        `| Tested processors | PT | ${PCN - 1} |`,
        `| Processors | PCN | ${PCN} |`,
        `| Line coverage | COV | ${report.inputs.coverage.toFixed(4)} |`,
        '| Style errors | MSE | 1 |',
        `| Source files | N<sub>f</sub> | ${packageSourceFiles(pipe).length} |`,
        '| Style tolerance per file | τ | 13.00 |',
        `| **QAI** | | **${report.qai.toFixed(4)}** |`,
      ]) {
        expect(markdown).toContain(row);
      }
    });

    test('when the report is opened then its first lines under the title are the QAI and grade as a headline, and the verdict', () => {
      const qaiPercent = (report.qai * 100).toFixed(2);
      const lines = markdown.split('\n');
      expect(lines.slice(0, 5)).toEqual([
        '# qapipe Quality Report',
        '',
        `## QAI ${qaiPercent}% · Grade ${report.grade}`,
        '',
        `All ${report.tests.passed} tests passed; ${PCN - 1} of ${PCN} processors tested; coverage ${(report.inputs.coverage * 100).toFixed(2)}%; 1 style error.`,
      ]);
    });

    test('when a processor has no test then the report names it, and lists the style error where it is', () => {
      expect(markdown).toContain('**Untested processors:** `Flag`');
      expect(markdown).toContain('| Flag | step | 0 |');
      expect(markdown).toContain(`${STYLE_ERROR.file}:${STYLE_ERROR.line}:${STYLE_ERROR.column}: ${STYLE_ERROR.rule}`);
      expect(markdown).toMatch(/### 2\.1 Tests[\s\S]*ScaleIsolationSecondTest/);
    });
  });
});

/** The default grade table, independently of src/. */
function gradeOf(qai: number): string {
  const table: [number, string][] = [
    [95, 'A+'], [93, 'A'], [90, 'A-'], [87, 'B+'], [83, 'B'], [80, 'B-'], [77, 'C+'], [73, 'C'], [70, 'C-'], [67, 'D+'], [63, 'D'], [60, 'D-'], [0, 'F'],
  ];
  return table.find(([limit]) => qai * 100 >= limit)![1];
}
