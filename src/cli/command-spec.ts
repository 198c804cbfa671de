import type { Command as Commander, OptionValues } from 'commander';
import type { Paint } from '../core/colour.js';
import type { LogFormat, LogLevel } from '../core/logger.js';
import type { Output } from '../core/output.js';
import type { Mode } from '../conf/mode.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { commandNameOf, type CommandClass } from '../processors/command.js';
import { runCustomCommand } from '../run/custom-command.js';
import type { Environment } from '../run/environment.js';

/** What every command receives. */
export interface CommandContext {
  readonly output: Output;
  /** Absent for `nopipe` commands. */
  readonly env: Environment | undefined;
  readonly traceback: boolean;
  readonly logLevel: LogLevel | undefined;
  readonly logFormat: LogFormat | undefined;
  /** Reads one answer from the user (prompts). */
  readonly ask: (question: string) => Promise<string | undefined>;
  /**
   * The ANSI styles for standard output and for stderr: the identity unless that stream
   * is a terminal (or FORCE_COLOR says so) and NO_COLOR is not set (core/colour.ts).
   */
  readonly colours: { readonly out: Paint; readonly err: Paint };
}

/**
 * A built-in command as its file writes it: one file per command in `cli/commands/`,
 * wrapped by `defineCommand` and listed in `cli/commands/index.ts`. `mode` decides
 * what is opened before `handle` (`nopipe`: nothing, not even settings).
 *
 * `Options` is the type of the options `configure` declares, by commander's
 * camel-case names (`--dry-run` is `dryRun`); `handle` receives them so typed.
 * Write it as a type alias (`type RunOptions = { steps?: string[] }`): commander's
 * option values are a record, which an interface is not.
 */
export interface CommandSpec<Options extends OptionValues> {
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
  /**
   * Modes other than `nopipe`: called with the parsed options before the environment
   * opens, for work that can overlap with the opening (`run` forks its first worker
   * process). Returns what undoes it when the command has ended, used or not.
   */
  beforeOpen?(settings: ResolvedSettings, options: Options): (() => void) | void;
  handle(context: CommandContext, options: Options, args: string[]): Promise<number | void>;
}

/** The options of a command that declares none. */
export type NoOptions = Record<string, never>;

/**
 * The one shape the command line works with, for built-in and pipeline commands
 * alike: `main.ts` declares it on the program, opens its mode and calls `run` with
 * the parsed commander command. Made by `defineCommand` (built-in) or
 * `pipelineCommand` (a pipeline's `Command` class), never by hand.
 */
export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  readonly mode: Mode | 'nopipe';
  readonly createsDatabase: boolean;
  readonly importsSources: boolean;
  readonly toolchain: readonly string[];
  /** The pipeline's class, for the manual (`create-doc`); undefined for built-in commands. */
  readonly pipelineClass: CommandClass | undefined;
  configure(cmd: Commander): void;
  /** See `CommandSpec.beforeOpen`; returns what undoes it (a no-op when there is nothing to undo). */
  beforeOpen(settings: ResolvedSettings, parsed: Commander): () => void;
  run(context: CommandContext, parsed: Commander): Promise<number>;
}

const NOTHING_TO_UNDO = (): void => undefined;

/** A built-in command: its spec, with options typed once here (commander's `opts<T>()`). */
export function defineCommand<Options extends OptionValues>(spec: CommandSpec<Options>): CliCommand {
  return {
    name: spec.name,
    summary: spec.summary,
    mode: spec.mode,
    createsDatabase: spec.createsDatabase ?? false,
    importsSources: spec.importsSources ?? false,
    toolchain: spec.toolchain ?? [],
    pipelineClass: undefined,
    configure: (cmd) => spec.configure?.(cmd),
    beforeOpen: (settings, parsed) => spec.beforeOpen?.(settings, parsed.opts<Options>()) ?? NOTHING_TO_UNDO,
    async run(context, parsed) {
      const returned = await spec.handle(context, parsed.opts<Options>(), parsed.args);
      return typeof returned === 'number' ? returned : 0;
    },
  };
}

/**
 * A pipeline's `Command` class as a command of the line: its name (`commandName`, or
 * the class name in kebab-case), description, mode and `configure`; `run` makes an
 * instance and calls its `handle` in one transaction (`runCustomCommand`).
 */
export function pipelineCommand(Class: CommandClass): CliCommand {
  return {
    name: commandNameOf(Class),
    summary: Class.description ?? `${Class.name} (custom command)`,
    mode: Class.mode,
    createsDatabase: false,
    importsSources: false,
    toolchain: [],
    pipelineClass: Class,
    configure: (cmd) => Class.configure(cmd),
    beforeOpen: () => NOTHING_TO_UNDO,
    run: (context, parsed) => runCustomCommand(Class, envOf(context), context.output, parsed.opts(), parsed.args),
  };
}

/** The environment of a command that is not `nopipe`. */
export function envOf(context: CommandContext): Environment {
  if (!context.env) throw new Error('This command needs a pipeline environment');
  return context.env;
}
