import { redactSecrets } from './redact.js';

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

/**
 * The process's streams. Diagnostics are redacted on the way out: an error can quote
 * a driver's message or a stack that carries a connection URL with its password.
 */
export const processOutput: Output = {
  out: (text) => void (process.stdout.destroyed || process.stdout.write(text)),
  err: (text) => void (process.stderr.destroyed || process.stderr.write(redactSecrets(text))),
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

let pipesGuarded = false;

/**
 * A reader that went away (`node in_corral.js status | head -1`) is no failure of the
 * command: Node would raise EPIPE as an uncaught error with its stack. Writes to a
 * closed standard stream are dropped instead, and the command ends as it would
 * have, with its own exit code (a worker keeps committing its chunks). Any other
 * stream error stays fatal. Installed once per process, by whoever binds the
 * process streams (the command line, a forked worker).
 */
export function quietBrokenPipes(): void {
  if (pipesGuarded) return;
  pipesGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
      throw error;
    });
  }
}
