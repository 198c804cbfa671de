/**
 * Entry point of a forked processor process: never imported, only forked by
 * runner.ts. It opens its own database connection (connections are never shared
 * across a fork), runs one processor (or its share of the rows), reports, and
 * exits. A `stop` message from the parent, SIGTERM or SIGINT stop it gracefully: the
 * chunk in flight finishes or rolls back, and it reports what it did. Repeated stops
 * change nothing here (Ctrl-C reaches the whole process group and the parent sends a
 * `stop` too); stopping at once is the parent's call, with SIGKILL.
 */
import fs from 'node:fs';
import { CorralError, describeError } from '../core/errors.js';
import { interceptLogLines, loadPino } from '../core/logger.js';
import { loadKnex } from '../db/knex-factory.js';
import { quietBrokenPipes } from '../core/output.js';
import { executeProcessor, type StopFlag } from '../run/execute.js';
import { openEnvironment, type Environment } from '../run/environment.js';
import type { ChildMessage, ParentMessage, RunMessage } from './protocol.js';
import { findProcessor } from '../run/registry.js';

if (!process.send) {
  process.stderr.write('corral: workers/child.js is started by the corral runner, not by hand.\n');
  process.exit(2);
}

// Its stdout and stderr are the runner's: a reader gone (`run | head`) must not end a worker mid-chunk.
quietBrokenPipes();

/** The runner's stderr, shared as this process's fd 4 (runner.ts `STDERR_FD`). */
const RUNNER_STDERR_FD = 4;

const stop: StopFlag = { requested: false };
let released: (() => void) | undefined;
const onSignal = () => {
  stop.requested = true;
  released?.();
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
// A parent that is gone cannot collect the report: finish the chunk and stop.
process.on('disconnect', onSignal);
// Nor read the pipe of this process's stderr: log lines go from now on to the runner's
// own stderr, which it shared as fd 4 (runner.ts), so that a runner killed with SIGKILL
// does not silence its orphaned workers. Without that fd, they are dropped.
process.on('disconnect', () =>
  interceptLogLines((line) => {
    try {
      fs.writeSync(RUNNER_STDERR_FD, line);
    } catch {
      // No such fd, or nobody reading it either: nowhere left to write.
    }
  }),
);

/**
 * Sends to the parent if it is still there. A parent killed with SIGKILL closes the
 * channel at any moment: the callback then gets the error, which is nobody's to
 * report (the worker finishes its chunk and records its run `stopped`).
 */
function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    try {
      process.send!(message, undefined, {}, () => resolve());
    } catch {
      resolve();
    }
  });
}

/** Resolves when the parent says `start` (or the run is stopped before it does). */
const startSignal = new Promise<void>((resolve) => {
  released = resolve;
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'start') resolve();
    else if (message.type === 'stop') onSignal();
  });
});

/**
 * Takes the parent's environment variables and working folder (protocol.ts `RunMessage`),
 * before any of the pipeline's code runs: a worker forked ahead started without them.
 */
function adoptParentProcess(message: RunMessage): void {
  for (const key of Object.keys(process.env)) if (!(key in message.env)) delete process.env[key];
  Object.assign(process.env, message.env);
  if (process.cwd() !== message.cwd) process.chdir(message.cwd);
}

async function run(message: RunMessage): Promise<number> {
  let env: Environment | undefined;
  /** What the run did before a failure of the close, which does not undo its committed rows. */
  let ran = { rows: 0, seconds: 0 };
  try {
    adoptParentProcess(message);
    env = await openEnvironment({
      settingsFile: message.settingsFile,
      mode: 'in',
      logLevel: message.logLevel,
      logFormat: message.logFormat,
      connection: message.connection,
      compiled: message.compiled,
      compiledModule: message.compiledModule,
      // The parent checked these settings, from the same module and environment.
      settingsChecked: true,
    });
    const Class = findProcessor(env.registry, message.kind, message.name);
    await startSignal;
    if (stop.requested && !process.connected) {
      // Stopped before its phase came: nothing ran, and nobody is listening.
      await env.close();
      return 130;
    }
    let lastReport = 0;
    let latest = 0;
    let trailing: NodeJS.Timeout | undefined;
    const report = () => {
      trailing = undefined;
      lastReport = Date.now();
      void send({ type: 'progress', rows: latest });
    };
    const stats = await executeProcessor(Class, {
      engine: env.engine!,
      settings: env.settings,
      logger: env.logger,
      partition: message.partition,
      stop,
      onProgress: (rows) => {
        latest = rows;
        const wait = 200 - (Date.now() - lastReport);
        if (wait <= 0) report();
        // Too soon: sent a little later, so the parent's line is right while a slow chunk works.
        else trailing ??= setTimeout(report, wait).unref();
      },
    });
    if (trailing) clearTimeout(trailing);
    ran = { rows: stats.rows, seconds: stats.seconds };
    // Cleared first: a teardown that throws is reported below, not run a second time.
    const opened = env;
    env = undefined;
    await opened.close(stats.error);
    if (stats.status === 'failed') {
      const error = stats.error!;
      const cause = error.cause instanceof Error ? error.cause : error;
      await send({ type: 'failed', rows: stats.rows, seconds: stats.seconds, message: error.message, hint: error.hint, stack: cause.stack });
      return 1;
    }
    await send({
      type: 'done',
      status: stats.status,
      rows: stats.rows,
      seconds: stats.seconds,
      failedRows: stats.failedRows,
      rowFailures: stats.rowFailures.slice(0, 20),
    });
    return stats.status === 'stopped' ? 130 : stats.failedRows > 0 ? 1 : 0;
  } catch (error) {
    await env?.close(error).catch(() => undefined);
    await send({
      type: 'failed',
      rows: ran.rows,
      seconds: ran.seconds,
      message: `${message.name}: ${describeError(error)}`,
      hint: error instanceof CorralError ? error.hint : undefined,
      stack: error instanceof Error ? error.stack : undefined,
    });
    return 1;
  }
}

let runMessageCame = false;

process.once('message', (message: ParentMessage) => {
  runMessageCame = true;
  if (message.type !== 'run') return;
  void run(message).then((code) => {
    // Without a parent the channel is already closed, and disconnect() would throw ERR_IPC_DISCONNECTED.
    if (process.connected) process.disconnect();
    // Everything is done: the environment is closed and the report sent (its callback
    // came). Leaving by the event loop's end would first free the whole heap of the
    // run, while the parent waits for this exit (~40 ms after a 100k-row step); exit()
    // skips that. Only with nothing left to write: stdout and stderr are written at
    // once on Linux (files, pipes, terminals), but a pipe may take writes later elsewhere.
    if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(code);
    process.exitCode = code;
  });
});

// A worker forked ahead (spare.ts) is often ready before its parent has loaded and opened
// its own environment. While it waits for its `run` message, it loads what every worker
// needs next, whatever the pipeline and database: knex and pino (~20 ms of CPU). Once the
// message has come, this does nothing (`run` loads them in its turn).
setImmediate(() => {
  if (runMessageCame) return;
  loadKnex();
  loadPino();
});
