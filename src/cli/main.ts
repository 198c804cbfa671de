import { Command as Commander, CommanderError, Option } from 'commander';
import { colourWanted, paint, type Paint } from '../core/colour.js';
import { CorralError, describeError } from '../core/errors.js';
import type { LogFormat, LogLevel } from '../core/logger.js';
import { processOutput, quietBrokenPipes, type Output } from '../core/output.js';
import { loadSettings } from '../conf/load.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { VERSION } from '../version.js';
import { commandClasses } from '../run/registry.js';
import { pipelineCommand, type CliCommand, type CommandContext } from './command-spec.js';
import { builtinCommandNames, loadBuiltinCommands } from './commands/index.js';
import { openEnvironment, type Environment } from '../run/environment.js';
import { requireToolchain } from '../qa/toolchain.js';
import { dropSpareWorker } from '../workers/spare.js';

export { exitWhenIdle } from './exit.js';

export interface RunOptions {
  /** The pipeline's settings file. (Default: `CORRAL_SETTINGS`) */
  readonly settingsFile?: string | undefined;
  readonly output?: Output;
  /** Answers prompts (default: standard input). */
  readonly ask?: (question: string) => Promise<string | undefined>;
}

/** Two-letter short options of the original CLI that commander cannot declare. */
const LEGACY_FLAGS: Record<string, string> = {
  '-sg': '--step-groups',
  '-ag': '--alert-groups',
  '-dl': '--default-logging',
  '-el': '--exclude-loader',
  '-es': '--exclude-steps',
  '-ea': '--exclude-alerts',
  '-ec': '--exclude-commands',
  '-vv': '--vverbose',
  '-et': '--exclude-test-output',
};

function askStdin(output: Output): (question: string) => Promise<string | undefined> {
  let lines: AsyncIterator<string> | undefined;
  return async (question) => {
    output.err(question);
    // readline on first use: most commands never ask.
    lines ??= process.getBuiltinModule('node:readline').createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
    const next = await lines.next();
    return next.done ? undefined : next.value;
  };
}

interface Chosen {
  command: CliCommand;
  /** The commander command as parsed: its options and arguments. */
  parsed: Commander;
}

/**
 * The commands of the line for these settings, built-in first (those that need a
 * pipeline only when there is one), then the pipeline's own, each adapted once.
 * `builtins` are the built-in commands imported (all, or only the one being run).
 */
function commandsOf(settings: ResolvedSettings | undefined, builtins: readonly CliCommand[]): CliCommand[] {
  const builtin = builtins.filter((command) => command.mode === 'nopipe' || settings);
  return settings ? [...builtin, ...commandClasses(settings).map(pipelineCommand)] : builtin;
}

/** Every command of the line for these settings (see `commandsOf`), for documentation. */
export async function commandsFor(settings: ResolvedSettings | undefined): Promise<CliCommand[]> {
  return commandsOf(settings, await loadBuiltinCommands());
}

type Colours = CommandContext['colours'];
const NO_COLOURS: Colours = { out: paint(false), err: paint(false) };

/**
 * Help styled for a terminal: commander strips the styles again for a stream that
 * gets no colour (`getOutHasColors`), so one styling serves both.
 */
const HELP_STYLE = paint(true);

function buildProgram(output: Output, colours: Colours, settings: ResolvedSettings | undefined, settingsError: unknown, builtins: readonly CliCommand[], chosen: { value?: Chosen }): Commander {
  const program = new Commander('corral');
  const entry = settings ? 'node in_corral.js' : 'corral';
  program
    .name(entry)
    .description(settings ? `${settings.name}: ${settings.description || 'a corral pipeline'}` : 'corral: trustworthy, parallel data pipelines over an SQL database')
    .version(VERSION, '-V, --version', 'print the corral version')
    .option('--traceback', 'print the full stack of errors')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .addOption(new Option('--log-format <format>', 'log lines for humans or JSON objects').choices(['pretty', 'json']))
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => output.out(s),
      writeErr: (s) => output.err(s),
      outputError: () => undefined,
      getOutHasColors: () => colours.out.enabled,
      getErrHasColors: () => colours.err.enabled,
    })
    .configureHelp({ styleTitle: HELP_STYLE.bold, styleCommandText: HELP_STYLE.bold, styleSubcommandTerm: HELP_STYLE.green, styleOptionTerm: HELP_STYLE.green });
  if (settingsError !== undefined) {
    program.addHelpText('after', `\nThe pipeline settings could not be loaded, so its own commands are not listed:\n  ${describeError(settingsError)}\n`);
  }
  // A built-in command not imported (another one is being run) is never chosen; its
  // name still makes a pipeline command of that name an error, as when all are imported.
  const names = new Set<string>(settings ? builtinCommandNames.filter((name) => !builtins.some((command) => command.name === name)) : []);
  for (const command of commandsOf(settings, builtins)) {
    if (names.has(command.name)) {
      throw new CorralError(`Two commands are named '${command.name}'`, { hint: 'Give the custom command another commandName' });
    }
    names.add(command.name);
    const cmd = program.command(command.name).description(command.summary).allowExcessArguments(false);
    command.configure(cmd);
    cmd.action((...received: unknown[]) => {
      // commander passes the arguments, the options and last the command itself.
      const parsed = received[received.length - 1];
      if (parsed instanceof Commander) chosen.value = { command, parsed };
    });
  }
  return program;
}

/**
 * The command line as `runFromCommandLine` builds it for these settings, with every
 * built-in and pipeline command and their options; for documentation (`create-doc`):
 * nothing is parsed or run.
 */
export async function commandLineProgram(settings: ResolvedSettings | undefined): Promise<Commander> {
  return buildProgram(processOutput, NO_COLOURS, settings, undefined, await loadBuiltinCommands(), {});
}

function reportError(error: unknown, output: Output, traceback: boolean, colours: Paint = paint(false)): number {
  const label = colours.red('Error:');
  if (error instanceof CorralError) {
    output.err(`${label} ${error.message}\n`);
    if (error.hint) output.err(`  ${error.hint}\n`);
    if (traceback) output.err(`${(error.cause instanceof Error ? error.cause : error).stack ?? ''}\n`);
    return error.exitCode;
  }
  output.err(`${label} ${describeError(error)}\n`);
  if (traceback) output.err(`${error instanceof Error ? error.stack : ''}\n`);
  else output.err('  (run again with --traceback for the stack)\n');
  return 1;
}

/** Global options that take a value: the word after them is not the command. */
const GLOBAL_VALUE_OPTIONS = new Set(['--log-level', '--log-format']);

/** The command named on the line, before commander has parsed it (the settings load first). */
function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (GLOBAL_VALUE_OPTIONS.has(arg)) i += 1;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * The whole command line, callable in-process: parses `argv` (without the node and
 * script names), runs the command in its mode and returns the exit code. Only
 * `bin/corral.js` and a pipeline's `in_corral.js` turn that into a process exit
 * (`exitWhenIdle`).
 */
export async function runFromCommandLine(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  try {
    return await runCommandLine(argv, options);
  } finally {
    // A worker forked ahead for this command line (workers/spare.ts) that no runner took goes now.
    dropSpareWorker();
  }
}

async function runCommandLine(argv: readonly string[], options: RunOptions): Promise<number> {
  if (!options.output) quietBrokenPipes();
  const output = options.output ?? processOutput;
  // Colour only where this process writes to a terminal: an Output given by a caller gets plain text.
  const colours: Colours = options.output ? NO_COLOURS : { out: paint(colourWanted(process.stdout)), err: paint(colourWanted(process.stderr)) };
  const fail = (error: unknown) => reportError(error, output, traceback, colours.err);
  const args = argv.map((arg) => LEGACY_FLAGS[arg] ?? arg);
  const traceback = args.includes('--traceback');
  const settingsFile = options.settingsFile ?? process.env.CORRAL_SETTINGS;
  const wantsCreate = args[0] === 'create';

  const word = commandWord(args);
  // Only the module of the built-in command being run is imported. Help (no command,
  // `help`) and a word that names no built-in command (a pipeline's, a typo: "Did you
  // mean …?") need them all.
  let builtins = await loadBuiltinCommands(word !== undefined && word !== 'help' && builtinCommandNames.includes(word) ? [word] : builtinCommandNames);
  const compiled = !builtins.find((command) => command.name === word)?.importsSources;
  let settings: ResolvedSettings | undefined;
  let settingsError: unknown;
  if (settingsFile && !wantsCreate) {
    try {
      settings = await loadSettings(settingsFile, { compiled });
    } catch (error) {
      settingsError = error;
    }
  }

  // Without settings the commands that need a pipeline are not on the line; the others
  // must be, for commander to call such a word an unknown command (then the settings' error is reported).
  if (!settings && builtins.length < builtinCommandNames.length) builtins = await loadBuiltinCommands();

  const chosen: { value?: Chosen } = {};
  let program: Commander;
  try {
    program = buildProgram(output, colours, settings, settingsError, builtins, chosen);
  } catch (error) {
    return fail(error);
  }
  if (args.length === 0) {
    output.err(program.helpInformation());
    if (settingsError !== undefined) return fail(settingsError);
    return 1;
  }
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      // Settings that fail to load hide every pipeline command; say why rather than "unknown command".
      if (settingsError !== undefined && error.code === 'commander.unknownCommand') return fail(settingsError);
      output.err(`${colours.err.red('Error:')} ${error.message.replace(/^error: /, '').replace(/\n(?=\(Did you mean)/, ' ')}\n`);
      output.err(`  Run '${program.name()} --help' for the list of commands and '${program.name()} <command> --help' for its options.\n`);
      return error.exitCode || 1;
    }
    return fail(error);
  }
  const picked = chosen.value;
  if (!picked) return 0;
  const globals = program.opts() as { logLevel?: LogLevel; logFormat?: LogFormat };
  const { mode } = picked.command;
  if (mode !== 'nopipe' && settingsError !== undefined) return fail(settingsError);

  let env: Environment | undefined;
  let failure: unknown;
  let code: number;
  let undo: (() => void) | undefined;
  try {
    if (picked.command.toolchain.length > 0) requireToolchain(picked.command.name, picked.command.toolchain);
    if (mode !== 'nopipe') {
      undo = picked.command.beforeOpen(settings!, picked.parsed);
      env = await openEnvironment({
        settingsFile: settings!.settingsFile,
        mode,
        logLevel: globals.logLevel,
        logFormat: globals.logFormat,
        createDatabase: picked.command.createsDatabase,
        compiled,
        settings,
      });
    }
    const context: CommandContext = {
      output,
      env,
      traceback,
      logLevel: globals.logLevel,
      logFormat: globals.logFormat,
      ask: options.ask ?? askStdin(output),
      colours,
    };
    code = await picked.command.run(context, picked.parsed);
  } catch (error) {
    failure = error;
    code = fail(error);
  }
  if (env) {
    try {
      await env.close(failure);
    } catch (error) {
      // A teardown that fails fails the command: its work may not be finished (files
      // not flushed, resources not released). After a failed command, the first error stays the one reported.
      if (failure === undefined) code = fail(error);
      else output.err(`  Closing the environment failed too: ${describeError(error)}\n`);
    }
  }
  undo?.();
  return code;
}
