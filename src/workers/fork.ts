import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD_ENTRY = fileURLToPath(new URL('./child.js', import.meta.url));

/** This process's stderr, shared with each child as its fd 4 (see child.ts), when it is open. */
const STDERR_FD = (() => {
  try {
    fs.fstatSync(2);
    return 2;
  } catch {
    return 'ignore' as const;
  }
})();

/**
 * Forks a worker process (child.ts) for the pipeline of `settingsFile`. It loads corral
 * and waits for its `run` message: until then it has opened nothing.
 */
export function forkChild(settingsFile: string): ChildProcess {
  // Its stderr is read by the runner, line by line, and written above the progress line (progress.ts).
  return fork(CHILD_ENTRY, [], {
    // fd 4 of the child is this process's own stderr: where its log lines go if this
    // process dies first (killed with SIGKILL), and nobody reads the pipe any more.
    stdio: ['ignore', 'inherit', 'pipe', 'ipc', STDERR_FD],
    env: { ...process.env, CORRAL_SETTINGS: settingsFile },
    execArgv: process.execArgv.filter((arg) => !arg.startsWith('--inspect')),
  });
}

/**
 * A worker forked before the runner knows whether it needs one (`forkSpareWorker`):
 * a forked process spends ~0.17 s starting Node and loading corral, which then
 * overlaps with this process opening its environment, checking the tables and asking
 * the backlogs. The runner takes it for the first process it forks; one not taken is
 * let go (`dropSpareWorker`) without ever having had a `run` message, so it has opened
 * no database and written no run record.
 */
let spare: { settingsFile: string; child: ChildProcess } | undefined;

/**
 * While spare, a worker that could not be started (EAGAIN, say) is nobody's failure: it
 * is not taken, and the runner forks anew when it needs a process, with the usual outcome.
 */
const ignoreError = (): void => undefined;

/** Forks the spare worker for the pipeline of `settingsFile`; returns what lets it go. */
export function forkSpareWorker(settingsFile: string): () => void {
  dropSpareWorker();
  const child = forkChild(settingsFile);
  child.on('error', ignoreError);
  spare = { settingsFile, child };
  return dropSpareWorker;
}

/** The spare worker, if one for this pipeline is waiting (then it is no longer spare). */
export function takeSpareWorker(settingsFile: string): ChildProcess | undefined {
  // One that died loading (its exit perhaps already told) is not taken: the runner would wait for an exit that has come.
  if (!spare || spare.settingsFile !== settingsFile || !spare.child.connected || spare.child.exitCode !== null || spare.child.signalCode !== null) return undefined;
  const { child } = spare;
  spare = undefined;
  child.off('error', ignoreError);
  return child;
}

/**
 * Lets the spare worker go, if there is one, at once: it shares this process's stdout
 * and stderr (fd 4), so a reader of the command's output (a pipe, a shell's `$(…)`)
 * would wait for it to end, and it would load corral on a core the command may need.
 * SIGTERM ends it as it loads (no handler yet), and after that its handler (child.ts)
 * finds no run to stop and the closed channel ends it. It has opened nothing to close.
 */
export function dropSpareWorker(): void {
  if (!spare) return;
  const { child } = spare;
  spare = undefined;
  if (child.connected) child.disconnect();
  child.kill('SIGTERM');
  child.stderr?.destroy();
  child.unref();
}
