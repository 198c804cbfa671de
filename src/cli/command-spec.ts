import type { Command as Commander } from 'commander';
import type { LogFormat, LogLevel } from '../core/logger.js';
import type { Output } from '../core/output.js';
import type { Environment, Mode } from '../run/environment.js';

/** What every built-in command receives. */
export interface CommandContext {
  readonly output: Output;
  /** Absent for `nopipe` commands. */
  readonly env: Environment | undefined;
  readonly traceback: boolean;
  readonly logLevel: LogLevel | undefined;
  readonly logFormat: LogFormat | undefined;
  /** Reads one answer from the user (prompts). */
  readonly ask: (question: string) => Promise<string | undefined>;
}

/**
 * A built-in command: one file per command in `cli/commands/`, listed in
 * `cli/commands/index.ts`. `mode` decides what is opened before `handle`
 * (`nopipe`: nothing, not even settings).
 */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly mode: Mode | 'nopipe';
  /** Mode `in` only: may create the database file (SQLite) instead of requiring it. */
  readonly createsDatabase?: boolean;
  /**
   * The command's own work imports the pipeline's TypeScript sources (tests, a script,
   * the REPL): the settings are then loaded through tsx as well, so that there is one
   * copy of each class. Other commands load the compiled pipeline, which starts faster.
   */
  readonly importsSources?: boolean;
  /**
   * Packages of the QA toolchain the command imports (`QA_TOOLS`, the
   * pipeline's devDependencies): checked before anything opens, so that a runtime-only
   * install (`npm ci --omit=dev`) gets one line saying what to install.
   */
  readonly toolchain?: readonly string[];
  configure?(cmd: Commander): void;
  handle(context: CommandContext, options: Record<string, any>, args: string[]): Promise<number | void>;
}

/** The environment of a command that is not `nopipe`. */
export function envOf(context: CommandContext): Environment {
  if (!context.env) throw new Error('This command needs a pipeline environment');
  return context.env;
}
