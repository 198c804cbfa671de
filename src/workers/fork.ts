import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';

// Node's modules are required when a fork is made, not imported: the stub of `corral/cli`
// imports this module (through spare.ts) for every command, and an ES import of node:fs
// builds its whole namespace, streams included (~2 ms of an out-mode command).
const require = createRequire(import.meta.url);

/** This process's stderr, shared with each child as its fd 4 (see child.ts), when it is open. */
let stderrFd: 2 | 'ignore' | undefined;

function runnerStderr(): 2 | 'ignore' {
  if (stderrFd === undefined) {
    try {
      (require('node:fs') as typeof import('node:fs')).fstatSync(2);
      stderrFd = 2;
    } catch {
      stderrFd = 'ignore';
    }
  }
  return stderrFd;
}

/**
 * Forks a worker process (child.ts). It loads corral and waits for its `run` message,
 * which names the pipeline and carries this process's environment: until then it has
 * opened nothing. `settingsFile` is set in its environment when known (a spare forked
 * before the settings are found has none yet).
 */
export function forkChild(settingsFile: string | undefined): ChildProcess {
  // A command that forks nothing (lssteps) never loads child_process (~4 ms).
  const { fork } = require('node:child_process') as typeof import('node:child_process');
  const { fileURLToPath } = require('node:url') as typeof import('node:url');
  // Its stderr is read by the runner, line by line, and written above the progress line (progress.ts).
  return fork(fileURLToPath(new URL('./child.js', import.meta.url)), [], {
    // fd 4 of the child is this process's own stderr: where its log lines go if this
    // process dies first (killed with SIGKILL), and nobody reads the pipe any more.
    stdio: ['ignore', 'inherit', 'pipe', 'ipc', runnerStderr()],
    env: workerEnvironment(settingsFile),
    execArgv: process.execArgv.filter((arg) => !arg.startsWith('--inspect')),
  });
}

/** The environment variables of a worker: this process's, with the pipeline's settings file when known. */
export function workerEnvironment(settingsFile: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  if (settingsFile !== undefined) env.CORRAL_SETTINGS = settingsFile;
  return env;
}
