/**
 * Where commands write. Only `cli/main.ts` binds this to the process streams, so
 * every command can run in-process with its output captured (tests, TestCase).
 */
export interface Output {
  /** Results: tables, reports, documents. */
  out(text: string): void;
  /** Diagnostics: errors, progress, summaries. */
  err(text: string): void;
  /** Whether `err` goes to a terminal (progress display, colours). */
  readonly interactive: boolean;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  get interactive() {
    return Boolean(process.stderr.isTTY);
  },
};

/** An Output that keeps what is written, for tests and captured command runs. */
export function memoryOutput(): Output & { stdout: string; stderr: string } {
  const captured = {
    stdout: '',
    stderr: '',
    interactive: false,
    out(text: string) {
      captured.stdout += text;
    },
    err(text: string) {
      captured.stderr += text;
    },
  };
  return captured;
}
