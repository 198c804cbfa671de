import type { Output } from '../core/output.js';
import { commandNameOf, type CommandClass } from '../processors/command.js';
import type { Environment } from './environment.js';

/** Runs a pipeline's own command; modes `in`/`test` wrap `handle` in one transaction. */
export async function runCustomCommand(
  Class: CommandClass,
  env: Environment,
  output: Output,
  options: Record<string, unknown>,
  args: readonly string[],
): Promise<number> {
  const command = new Class();
  const context = command.bind(env, output);
  const result = env.engine ? await env.engine.inTransaction(context.inside(() => command.handle(options, ...args))) : await command.handle(options, ...args);
  return typeof result === 'number' ? result : 0;
}

/** Parses a command's arguments the way the command line would (for TestCase command subjects). */
export async function parseCommandArgs(Class: CommandClass, args: readonly string[]): Promise<{ options: Record<string, unknown>; args: string[] }> {
  const { Command: Commander } = await import('commander');
  const cmd = new Commander(commandNameOf(Class)).exitOverride().allowExcessArguments(true);
  cmd.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  Class.configure(cmd);
  cmd.parse([...args], { from: 'user' });
  return { options: cmd.opts(), args: [...cmd.args] };
}
