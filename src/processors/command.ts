import type { Command as Commander } from 'commander';
import type { Output } from '../core/output.js';
import type { Logger } from '../core/logger.js';
import type { Mode } from '../conf/mode.js';
import type { ResolvedSettings } from '../conf/settings.js';
import type { Engine } from '../db/engine.js';
import { CONTEXT, LIFECYCLE, ProcessorContext, type Lifecycle } from './processor-context.js';
import type { ConcreteClass } from './processor-kinds.js';
import { RowApi } from './row-api.js';

const LIFE: Lifecycle = { runs: 'the command runs', use: 'handle()' };

/**
 * A pipeline's own command, listed in `settings.commands` and run as
 * `node in_corral.js <name>`. The lifecycle, in order:
 *
 * 1. `configure(cmd)` (static) adds options and arguments to its commander command;
 * 2. the environment of its `mode` opens (`in`: production database, `test`: a
 *    throw-away one, `out`: none) and the pipeline setup runs;
 * 3. `handle(options, ...args)` runs, inside one transaction in modes `in`/`test`
 *    (committed when it returns, rolled back when it throws); `this.db`, `this.find`,
 *    `this.save`... work in it (from `RowApi`, as in processors);
 * 4. the environment closes; the exit code is what `handle` returned, or 0.
 *
 * `handle` receives the options `configure` declares by their camel-case names
 * (`--dry-run` is `dryRun`); a subclass may type them:
 * `handle(options: { count?: string })`.
 */
/** What a command works with: an open environment (run/environment.ts) has it all. */
export interface CommandEnvironment {
  readonly engine: Engine | undefined;
  readonly settings: ResolvedSettings;
  readonly logger: Logger;
}

export abstract class Command extends RowApi {
  /** The command's name on the command line. (Default: the class name in kebab-case) */
  static commandName: string | undefined = undefined;
  /** One line for `--help`. */
  static description: string | undefined = undefined;
  /** Which database it works on. (Default: `'in'`) */
  static mode: Mode = 'in';

  /** Adds options and arguments: `cmd.option('-n, --count <n>', 'how many')`. */
  static configure(_cmd: Commander): void {}

  private out: Output | undefined;

  get [LIFECYCLE](): Lifecycle {
    return LIFE;
  }

  /** @internal called by the CLI before `handle`: the command's context (settings, logger, database) and output. */
  bind(environment: CommandEnvironment, output: Output): ProcessorContext {
    this.out = output;
    const context = new ProcessorContext({ owner: this.constructor.name, engine: environment.engine, settings: () => environment.settings, logger: environment.logger });
    this[CONTEXT] = context;
    return context;
  }

  /** Writes to standard output (a newline is added when missing). */
  print(text = ''): void {
    this.output.out(text.endsWith('\n') ? text : text + '\n');
  }

  get output(): Output {
    if (!this.out) throw new Error('The command is not bound to an output yet');
    return this.out;
  }

  abstract handle(options: Record<string, unknown>, ...args: string[]): void | number | Promise<void | number>;
}

/** A pipeline's command class, as the registry checked it (run/registry.ts). */
export type CommandClass = ConcreteClass<typeof Command>;

export function commandNameOf(Class: CommandClass): string {
  return Class.commandName ?? Class.name.replace(/Command$/, '').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
