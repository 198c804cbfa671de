import type { Output } from '../core/output.js';
import { pushContext, popContext } from '../db/context.js';
import type { Environment } from '../run/environment.js';
import type { Command } from './base-command.js';

/** Runs a pipeline's own command; modes `in`/`test` wrap `handle` in one transaction. */
export async function runCustomCommand(
  Class: new () => Command,
  env: Environment,
  output: Output,
  options: Record<string, unknown>,
  args: readonly string[],
): Promise<number> {
  const command = new Class();
  command.bind(env, output);
  if (!env.engine) {
    const result = await command.handle(options, ...args);
    return typeof result === 'number' ? result : 0;
  }
  const base = { engine: env.engine, db: env.engine.knex };
  pushContext(base);
  try {
    const result = await env.engine.inTransaction(async () => command.handle(options, ...args));
    return typeof result === 'number' ? result : 0;
  } finally {
    popContext(base);
  }
}
