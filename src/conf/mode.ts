/**
 * The database a command works on: `in` the pipeline's own, `test` a fresh
 * throw-away one, `out` none (the paper's three modes).
 */
export type Mode = 'in' | 'test' | 'out';
