import type { ResolvedSettings } from '../conf/settings.js';
import { commandNameOf, type CommandClass } from '../processors/command.js';
import { kindOf } from '../run/processor-class.js';
import type { ProcessorClass } from '../processors/processor.js';
import { selectSubjects } from './selection.js';
import { runCoverage, type CoverageResult } from './coverage.js';
import { computeQai, gradeFor, type QaiInputs } from './qai.js';
import { runStyle, type StyleResult } from './style.js';
import { VERSION } from '../version.js';

export interface SubjectSummary {
  readonly name: string;
  readonly kind: 'loader' | 'step' | 'alert' | 'command';
  /** TestCases whose subject it is. */
  readonly tests: number;
}

/** Everything a quality report shows, as plain data. */
export interface QualityResult {
  readonly pipeline: string;
  readonly description: string;
  readonly createdAt: string;
  readonly versions: { readonly corral: string; readonly node: string };
  readonly subjects: readonly SubjectSummary[];
  readonly untested: readonly string[];
  readonly inputs: QaiInputs;
  readonly qai: number;
  readonly grade: string;
  readonly grades: Readonly<Record<number, string>>;
  readonly coverage: Omit<CoverageResult, 'tests' | 'testOutput' | 'exitCode'>;
  readonly tests: CoverageResult['tests'];
  readonly testOutput: string;
  readonly style: StyleResult;
}

function subjectKind(Class: ProcessorClass | CommandClass): SubjectSummary['kind'] {
  try {
    return kindOf(Class as ProcessorClass);
  } catch {
    return 'command';
  }
}

/** Runs the tests (with coverage) and the style check once each, and computes the QAI. */
export async function assessQuality(settings: ResolvedSettings): Promise<QualityResult> {
  const coverage = await runCoverage(settings);
  const style = await runStyle(settings);
  const { registered } = selectSubjects(settings, {});
  const testsBySubject = new Map<string, number>();
  for (const test of coverage.tests.tests) testsBySubject.set(test.subject, (testsBySubject.get(test.subject) ?? 0) + 1);
  const subjects = registered.map((Class) => {
    const kind = subjectKind(Class);
    return { name: kind === 'command' ? commandNameOf(Class as CommandClass) : Class.name, kind, tests: testsBySubject.get(Class.name) ?? 0 };
  });
  const inputs: QaiInputs = {
    testsPassed: coverage.tests.failed === 0 && coverage.exitCode === 0,
    testedProcessors: subjects.filter((s) => s.tests > 0).length,
    processors: subjects.length,
    coverage: coverage.lineRate,
    styleErrors: style.errors,
    files: style.files,
    tau: settings.qai.tau,
  };
  const qai = computeQai(inputs);
  const { tests, testOutput, exitCode: _exitCode, ...coverageData } = coverage;
  return {
    pipeline: settings.name,
    description: settings.description,
    createdAt: new Date().toISOString(),
    versions: { corral: VERSION, node: process.version },
    subjects,
    untested: subjects.filter((s) => s.tests === 0).map((s) => s.name),
    inputs,
    qai,
    grade: gradeFor(qai, settings.qai.grades),
    grades: settings.qai.grades,
    coverage: coverageData,
    tests,
    testOutput,
    style,
  };
}
