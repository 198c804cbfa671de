/**
 * The Quality Assurance Index and its grade, against the figures published for the
 * original (paper §4.4.1, appendix A.4; reference §5.4–5.5).
 */
import { describe, expect, test } from 'vitest';
import { parseThreshold } from '../../src/cli/commands/qareport.js';
import { DEFAULT_GRADES, resolveSettings } from '../../src/conf/settings.js';
import { computeQai, gradeFor, type QaiInputs } from '../../src/qa/qai.js';

/** The EXO report of the paper's appendix: 91.97 %. */
const EXO: QaiInputs = { testsPassed: true, testedProcessors: 3, processors: 3, coverage: 0.9357, styleErrors: 4, files: 9, tau: 13 };
/** The original tutorial's report: 8.64 %. */
const TUTORIAL: QaiInputs = { testsPassed: true, testedProcessors: 1, processors: 7, coverage: 0.6263, styleErrors: 8, files: 9, tau: 13 };

const percent = (qai: number) => (qai * 100).toFixed(2);

/** The paper's form: QAI = Θ · Λ_Cov · R_PT / γ, with γ = ½ (1 + exp(N_SError / (τ · N_f))). */
function paperForm(i: QaiInputs): number {
  const gamma = 0.5 * (1 + Math.exp(i.styleErrors / (i.tau * i.files)));
  return ((i.testsPassed ? 1 : 0) * i.coverage * (i.testedProcessors / i.processors)) / gamma;
}

describe('computeQai', () => {
  test('when the EXO inputs are given (Θ 1, PT 3, PCN 3, COV 0.9357, MSE 4, N_f 9, τ 13) then the QAI is 91.97 %', () => {
    expect(percent(computeQai(EXO))).toBe('91.97');
    expect(computeQai(EXO)).toBeCloseTo(0.91971, 5);
  });

  test('when the tutorial inputs are given (Θ 1, PT 1, PCN 7, COV 0.6263, MSE 8, N_f 9) then the QAI is 8.64 %', () => {
    expect(percent(computeQai(TUTORIAL))).toBe('8.64');
  });

  test('when a test failed (Θ 0) then the QAI is 0 whatever the other inputs', () => {
    expect(computeQai({ ...EXO, testsPassed: false })).toBe(0);
    expect(computeQai({ ...EXO, testsPassed: false, coverage: 1, styleErrors: 0 })).toBe(0);
  });

  test('when every processor is tested, coverage is full and there is no style error then the QAI is exactly 1', () => {
    expect(computeQai({ testsPassed: true, testedProcessors: 5, processors: 5, coverage: 1, styleErrors: 0, files: 3, tau: 13 })).toBe(1);
  });

  test('when no processor has a test (PT 0) or there is none at all (PCN 0) then the QAI is 0', () => {
    expect(computeQai({ ...EXO, testedProcessors: 0 })).toBe(0);
    expect(computeQai({ ...EXO, testedProcessors: 0, processors: 0 })).toBe(0);
  });

  test('when τ changes then the QAI changes: a larger tolerance penalises the same style errors less', () => {
    const strict = computeQai({ ...EXO, tau: 1 });
    const published = computeQai(EXO);
    const lenient = computeQai({ ...EXO, tau: 100 });
    expect(strict).toBeLessThan(published);
    expect(published).toBeLessThan(lenient);
    expect(strict).toBeCloseTo((2 * 0.9357) / (1 + Math.exp(4 / 9)), 12);
    expect(lenient).toBeCloseTo((2 * 0.9357) / (1 + Math.exp(4 / 900)), 12);
  });

  test('when there is no style error then τ makes no difference', () => {
    expect(computeQai({ ...EXO, styleErrors: 0, tau: 1 })).toBe(computeQai({ ...EXO, styleErrors: 0, tau: 50 }));
  });

  test.each([
    ['EXO', EXO],
    ['tutorial', TUTORIAL],
    ['half tested, many errors', { testsPassed: true, testedProcessors: 2, processors: 4, coverage: 0.5, styleErrors: 200, files: 4, tau: 13 }],
    ['one file, τ 5', { testsPassed: true, testedProcessors: 1, processors: 1, coverage: 0.77, styleErrors: 3, files: 1, tau: 5 }],
  ] as const)('when the inputs are %s then the QAI equals the paper form Θ·COV·R_PT/γ and lies in [0, 1]', (_name, inputs) => {
    const qai = computeQai(inputs);
    expect(qai).toBeCloseTo(paperForm(inputs), 12);
    expect(qai).toBeGreaterThanOrEqual(0);
    expect(qai).toBeLessThanOrEqual(1);
  });

  test('when style errors grow then the QAI only falls, towards 0', () => {
    const values = [0, 1, 10, 100, 1000, 10000].map((styleErrors) => computeQai({ ...EXO, styleErrors }));
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThan(values[i - 1]!);
    expect(values.at(-1)).toBeLessThan(1e-6);
  });
});

describe('gradeFor', () => {
  test('the default table is the original one', () => {
    expect(DEFAULT_GRADES).toEqual({
      0: 'F', 60: 'D-', 63: 'D', 67: 'D+', 70: 'C-', 73: 'C', 77: 'C+', 80: 'B-', 83: 'B', 87: 'B+', 90: 'A-', 93: 'A', 95: 'A+',
    });
  });

  test('when the QAI is exactly 90 % then the grade is A-, and just below it is B+', () => {
    expect(gradeFor(0.9, DEFAULT_GRADES)).toBe('A-');
    expect(gradeFor(0.8999, DEFAULT_GRADES)).toBe('B+');
    // 90 % as computeQai gives it: 9 of 10 processors tested, full coverage, no style error.
    const ninety = computeQai({ testsPassed: true, testedProcessors: 9, processors: 10, coverage: 1, styleErrors: 0, files: 9, tau: 13 });
    expect(gradeFor(ninety, DEFAULT_GRADES)).toBe('A-');
  });

  test('when the QAI sits exactly on any limit then it gets that limit\'s grade, and just below it the grade under', () => {
    const limits = Object.keys(DEFAULT_GRADES).map(Number).sort((a, b) => a - b);
    limits.forEach((limit, index) => {
      expect(gradeFor(limit / 100, DEFAULT_GRADES), `${limit} %`).toBe(DEFAULT_GRADES[limit]);
      if (index > 0) expect(gradeFor(limit / 100 - 1e-6, DEFAULT_GRADES), `just below ${limit} %`).toBe(DEFAULT_GRADES[limits[index - 1]!]);
    });
    expect(gradeFor(1, DEFAULT_GRADES)).toBe('A+');
    expect(gradeFor(0, DEFAULT_GRADES)).toBe('F');
  });

  test('when the published QAIs are graded then EXO gets A- and the tutorial F', () => {
    expect(gradeFor(computeQai(EXO), DEFAULT_GRADES)).toBe('A-');
    expect(gradeFor(computeQai(TUTORIAL), DEFAULT_GRADES)).toBe('F');
  });

  test("when a custom table {0: 'FAIL', 60: 'PASS'} is given then it is used instead of the default", () => {
    const grades = { 0: 'FAIL', 60: 'PASS' };
    expect(gradeFor(0, grades)).toBe('FAIL');
    expect(gradeFor(0.5999, grades)).toBe('FAIL');
    expect(gradeFor(0.6, grades)).toBe('PASS');
    expect(gradeFor(computeQai(EXO), grades)).toBe('PASS');
    expect(gradeFor(computeQai(TUTORIAL), grades)).toBe('FAIL');
  });

  test('when a custom table has no 0 entry then a QAI below every limit gets the lowest label, not nothing', () => {
    expect(gradeFor(0.1, { 50: 'OK', 90: 'GOOD' })).toBe('OK');
  });

  test('when the settings give qai.grades and qai.tau then they replace the defaults, and a bad limit is refused', () => {
    const file = '/nowhere/pipe/settings.ts';
    const resolved = resolveSettings({ name: 'pipe', models: [], qai: { tau: 5, grades: { 0: 'FAIL', 60: 'PASS' } } }, file);
    expect(resolved.qai).toEqual({ tau: 5, grades: { 0: 'FAIL', 60: 'PASS' } });
    expect(resolveSettings({ name: 'pipe', models: [] }, file).qai).toEqual({ tau: 13, grades: DEFAULT_GRADES });
    expect(() => resolveSettings({ name: 'pipe', models: [], qai: { tau: 0 } }, file)).toThrow(/Setting 'qai\.tau'/);
    expect(() => resolveSettings({ name: 'pipe', models: [], qai: { grades: { high: 'A' } } }, file)).toThrow(/Setting 'qai\.grades/);
  });
});

describe('qareport --fail-under', () => {
  test.each([
    ['90', 0.9],
    ['0.9', 0.9],
    ['99', 0.99],
    ['1', 0.01],
    ['100', 1],
    ['0', 0],
    ['0.5', 0.5],
  ])('when the threshold is %s then it means a QAI of %s', (given, expected) => {
    expect(parseThreshold(given)).toBeCloseTo(expected, 12);
  });

  test.each(['-1', '101', 'ninety', ''])('when the threshold is %j then it is refused', (given) => {
    expect(() => parseThreshold(given)).toThrow(/--fail-under takes a QAI between 0 and 100/);
  });
});
