/**
 * The Quality Assurance Index, exactly as published (Cabral et al., section 4.4.1)
 * and as the original implemented it:
 *
 *     QAI = 2 · Θ · (PT / PCN) · COV / (1 + exp(MSE / (τ · N_f)))
 *
 * - Θ: 1 when every test passed, else 0 (one failing test voids every result);
 * - PT / PCN: processors (loader, steps, alerts, commands) with at least one TestCase, over all of them;
 * - COV: line coverage of the pipeline's source files by the tests, in [0, 1];
 * - MSE: style errors; τ: the tolerated style errors per file (13 by default); N_f: the pipeline's source files.
 *
 * The factor 2 normalises the penalty 1 + exp(0) = 2, so QAI lies in [0, 1].
 */
export interface QaiInputs {
  /** Θ */
  readonly testsPassed: boolean;
  /** PT */
  readonly testedProcessors: number;
  /** PCN */
  readonly processors: number;
  /** COV, 0..1 */
  readonly coverage: number;
  /** MSE */
  readonly styleErrors: number;
  /** N_f */
  readonly files: number;
  /** τ */
  readonly tau: number;
}

export function computeQai(inputs: QaiInputs): number {
  const theta = inputs.testsPassed ? 1 : 0;
  if (inputs.processors === 0 || inputs.files === 0) return 0;
  const tested = inputs.testedProcessors / inputs.processors;
  const penalty = 1 + Math.exp(inputs.styleErrors / (inputs.tau * inputs.files));
  return (2 * theta * tested * inputs.coverage) / penalty;
}

/**
 * The grade of a QAI (0..1): the label of the highest lower limit (in percent)
 * the QAI reaches. A table without a 0 entry can leave a low QAI ungraded: it gets
 * the lowest label rather than nothing (the original returned None).
 */
export function gradeFor(qai: number, grades: Readonly<Record<number, string>>): string {
  const limits = Object.keys(grades)
    .map(Number)
    .sort((a, b) => b - a);
  const percent = qai * 100;
  for (const limit of limits) if (percent >= limit - 1e-9) return grades[limit]!;
  return grades[limits[limits.length - 1]!] ?? '-';
}
