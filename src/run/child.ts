/**
 * Entry point of a forked processor process: never imported, only forked by
 * runner.ts. It opens its own database connection (connections are never shared
 * across a fork), runs one processor, reports, and exits.
 */
import { CorralError, describeError } from '../core/errors.js';
import { executeProcessor } from './execute.js';
import { openEnvironment, type Environment } from './environment.js';
import type { ChildMessage, ParentMessage } from './protocol.js';
import { findProcessor } from './registry.js';

if (!process.send) {
  process.stderr.write('corral: run/child.js is started by the corral runner, not by hand.\n');
  process.exit(2);
}

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

async function run(message: ParentMessage): Promise<number> {
  let env: Environment | undefined;
  try {
    env = await openEnvironment({
      settingsFile: message.settingsFile,
      mode: 'in',
      logLevel: message.logLevel,
      logFormat: message.logFormat,
      connection: message.connection,
    });
    const Class = findProcessor(env.registry, message.kind, message.name);
    let lastReport = 0;
    const stats = await executeProcessor(Class, {
      engine: env.engine!,
      settings: env.settings,
      logger: env.logger,
      onProgress: (rows) => {
        const now = Date.now();
        if (now - lastReport > 200) {
          lastReport = now;
          void send({ type: 'progress', rows });
        }
      },
    });
    await env.close(stats.error);
    env = undefined;
    if (stats.status === 'failed') {
      const error = stats.error!;
      const cause = error.cause instanceof Error ? error.cause : error;
      await send({ type: 'failed', rows: stats.rows, seconds: stats.seconds, message: error.message, hint: error.hint, stack: cause.stack });
      return 1;
    }
    await send({ type: 'done', rows: stats.rows, seconds: stats.seconds });
    return 0;
  } catch (error) {
    await env?.close(error).catch(() => undefined);
    await send({
      type: 'failed',
      rows: 0,
      seconds: 0,
      message: `${message.name}: ${describeError(error)}`,
      hint: error instanceof CorralError ? error.hint : undefined,
      stack: error instanceof Error ? error.stack : undefined,
    });
    return 1;
  }
}

process.once('message', (message: ParentMessage) => {
  void run(message).then((code) => {
    process.disconnect?.();
    process.exitCode = code;
  });
});
