import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';
import { pipelineAt, type ScaffoldedPipeline } from './pipeline.js';
import type { CliResult } from './run-cli.js';

/** The QA fixture pipeline (test/fixtures/qa-pipeline): loader, 3 steps, 1 alert, 1 command. */
export const QA_FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'qa-pipeline');
const VARIANTS = path.join(QA_FIXTURE, 'variants');
const MARKER = '// qa-fixture: the tests\' copy puts the pipeline\'s one style error on this line.';
const STYLE_ERROR_CODE = 'const unusedLimit = 100;';

/**
 * The one style error of every copy of the fixture: an unused variable in steps.ts.
 * It is written into the copy only, so corral's own `npm run lint` (which lints
 * test/fixtures with the fixture's eslint.config.js) stays clean.
 */
export const STYLE_ERROR = {
  file: path.join('qapipe', 'steps.ts'),
  line: fs.readFileSync(path.join(QA_FIXTURE, 'qapipe', 'steps.ts'), 'utf8').split('\n').indexOf(MARKER) + 1,
  column: STYLE_ERROR_CODE.indexOf('unusedLimit') + 1,
  rule: '@typescript-eslint/no-unused-vars',
  variable: 'unusedLimit',
} as const;

/** Alternative tests modules (test/fixtures/qa-pipeline/variants/<name>.ts). */
export type TestsVariant = 'failing' | 'throwing' | 'unregistered';

/**
 * Copies the fixture pipeline to `dir/<folder>`, as a user's checkout of it after
 * `npm install`: node_modules/corral links to this checkout (as createPipeline does).
 * `tests` swaps in another tests module.
 */
export function copyQaPipeline(dir: string, options: { folder?: string; tests?: TestsVariant } = {}): ScaffoldedPipeline {
  if (STYLE_ERROR.line === 0) throw new Error(`The style-error marker is missing from ${path.join(QA_FIXTURE, 'qapipe', 'steps.ts')}`);
  const root = path.join(dir, options.folder ?? 'qapipe-root');
  fs.cpSync(QA_FIXTURE, root, { recursive: true, filter: (source) => source !== VARIANTS });
  // Stored as _package.json (like the scaffold's _gitignore): in place, inside this
  // checkout, the fixture's `import 'corral'` must resolve to corral itself, as the
  // examples' do, for corral's own typecheck and lint.
  fs.renameSync(path.join(root, '_package.json'), path.join(root, 'package.json'));
  fs.mkdirSync(path.join(root, 'node_modules'));
  fs.symlinkSync(path.resolve(REPO_ROOT), path.join(root, 'node_modules', 'corral'), 'dir');
  const pipe = pipelineAt(root, 'qapipe');
  pipe.edit('steps.ts', MARKER, STYLE_ERROR_CODE);
  if (options.tests) {
    const variant = fs.readFileSync(path.join(VARIANTS, `${options.tests}.ts`), 'utf8');
    fs.writeFileSync(pipe.file('tests.ts'), variant.replaceAll("from '../qapipe/", "from './"));
  }
  return pipe;
}

/** The source files of the pipeline package (the QAI's N_f), counted independently of corral. */
export function packageSourceFiles(pipe: ScaffoldedPipeline): string[] {
  return fs
    .readdirSync(pipe.packageDir, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(?:[cm]?[jt]s|tsx)$/.test(file) && !file.endsWith('.d.ts'))
    .sort();
}

/** One test of a `test --report-json` outcome. */
export interface TestRecord {
  readonly name: string;
  readonly subject: string;
  readonly state: string;
  readonly errors: readonly string[];
}

/** What `test --report-json FILE` (and a JSON quality report's `tests`) holds. */
export interface TestOutcomeJson {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly tests: readonly TestRecord[];
}

/** The JSON quality report (`qareport --format json`), the fields the tests read. */
export interface QaReportJson {
  readonly pipeline: string;
  readonly subjects: readonly { readonly name: string; readonly kind: string; readonly tests: number }[];
  readonly untested: readonly string[];
  readonly inputs: {
    readonly testsPassed: boolean;
    readonly testedProcessors: number;
    readonly processors: number;
    readonly coverage: number;
    readonly styleErrors: number;
    readonly files: number;
    readonly tau: number;
  };
  readonly qai: number;
  readonly grade: string;
  readonly coverage: {
    readonly lineRate: number;
    readonly total: { readonly lines: { readonly total: number; readonly covered: number } };
    readonly files: readonly { readonly file: string }[];
    readonly table: string;
  };
  readonly tests: TestOutcomeJson;
  readonly testOutput: string;
  readonly style: {
    readonly errors: number;
    readonly files: number;
    readonly messages: readonly { readonly file: string; readonly line: number; readonly column: number; readonly rule: string; readonly message: string }[];
  };
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** The published formula, written out independently of src/qa/qai.ts. */
export function qaiByHand(i: QaReportJson['inputs']): number {
  const theta = i.testsPassed ? 1 : 0;
  return (2 * theta * (i.testedProcessors / i.processors) * i.coverage) / (1 + Math.exp(i.styleErrors / (i.tau * i.files)));
}

/** `QAI 81.37% (grade B-)`, the line qareport prints on stderr. */
export function summaryLine(stderr: string): { percent: string; grade: string } | undefined {
  const match = /^QAI (\d+\.\d\d)% \(grade ([^)]+)\)/m.exec(stderr);
  return match ? { percent: match[1]!, grade: match[2]! } : undefined;
}

let outcomes = 0;

/** `node in_corral.js test <args> --report-json F` (F in `dir`): the CLI result and the outcome it wrote. */
export async function runTestsWithOutcome(
  pipe: ScaffoldedPipeline,
  args: readonly string[],
  dir: string,
): Promise<{ result: CliResult; outcome: TestOutcomeJson }> {
  const file = path.join(dir, `outcome-${process.pid}-${++outcomes}.json`);
  const result = await pipe.cli(['test', ...args, '--report-json', file]);
  if (!fs.existsSync(file)) throw new Error(`test ${args.join(' ')} wrote no outcome (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  return { result, outcome: readJson<TestOutcomeJson>(file) };
}

/** The names of the tests of an outcome in one state ('passed', 'failed', 'skipped', 'pending'). */
export function testNamesIn(outcome: TestOutcomeJson, state: string): string[] {
  return outcome.tests.filter((t) => t.state === state).map((t) => t.name);
}

/** The lines of stderr starting with `Error:` (the CLI's own error lines; test output aside). */
export function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.startsWith('Error:'));
}
