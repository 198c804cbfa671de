/**
 * The spare worker: one worker process forked before the runner knows whether it needs
 * one. A forked process spends ~0.15 s starting Node and loading corral; forked ahead,
 * that overlaps with this process loading corral and the settings, opening its
 * environment, checking the tables and asking the backlogs. The runner takes it for the
 * first process it forks; one not taken is let go (`dropSpareWorker`) without ever
 * having had a `run` message, so it has opened no database and written no run record.
 *
 * Two moments fork it: `forkSpareForCommandLine`, which the stub of `corral/cli`
 * (scripts/bundle-corral.js) calls before corral itself loads, when the command line
 * plainly runs processors; and the `beforeOpen` of `run`, `run-all` and
 * `check-alerts` (cli/commands/run.ts), for command lines that test could not read.
 *
 * The stub imports this module as tsc wrote it, and the bundle holds a copy of it, so
 * the state lives in one global slot that both copies share.
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { forkChild } from './fork.js';

interface Spare {
  /** The pipeline it was forked for; undefined when forked before the settings were found. */
  readonly settingsFile: string | undefined;
  readonly child: ChildProcess;
}

const SLOT = Symbol.for('corral.spareWorker');
const slot = globalThis as { [SLOT]?: Spare };

/** Commands that fork workers, which a command line starting with one of them runs (cli/commands/run.ts). */
const FORKING_COMMANDS = new Set(['run', 'run-all', 'check-alerts']);
/** Options after which such a command forks nothing: it runs in this process, or only prints. */
const NOT_FORKING = new Set(['--sync', '--dry-run', '-h', '--help']);

/**
 * While spare, a worker that could not be started (EAGAIN, say) is nobody's failure: it
 * is not taken, and the runner forks anew when it needs a process, with the usual outcome.
 */
const ignoreError = (): void => undefined;

/** Forks the spare worker for the pipeline of `settingsFile`; returns what lets it go. */
export function forkSpareWorker(settingsFile: string): () => void {
  // One already forked for the command line serves any pipeline: it learns its pipeline from the `run` message.
  const current = slot[SLOT];
  if (current && current.settingsFile === undefined && usable(current.child)) return dropSpareWorker;
  dropSpareWorker();
  keep(forkChild(settingsFile), settingsFile);
  return dropSpareWorker;
}

/**
 * Forks the spare as this process starts, when its command line (`args`, as given to
 * `runFromCommandLine`) is one that runs processors in worker processes. Conservative:
 * a global option before the command, or anything that is not plainly such a command
 * line, forks nothing here (the command's `beforeOpen` still does). Only in a main
 * process of its own: not in a worker thread, nor in a process forked with a channel
 * (a test runner's worker), which import `corral/cli` for other ends.
 */
export function forkSpareForCommandLine(args: readonly string[]): void {
  const [command, ...rest] = args;
  if (command === undefined || !FORKING_COMMANDS.has(command) || rest.some((arg) => NOT_FORKING.has(arg))) return;
  if (process.send !== undefined || slot[SLOT] !== undefined || !isMainThread()) return;
  const child = forkChild(undefined);
  keep(child, undefined);
  // Until a runner takes it, it must not keep this process alive (a script that imports
  // `corral/cli` and never runs a command ends as usual, and the spare with it: its channel closes).
  child.unref();
  child.channel?.unref();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
}

/** Required only when asked: most commands never load worker_threads. */
function isMainThread(): boolean {
  return (createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
}

function keep(child: ChildProcess, settingsFile: string | undefined): void {
  child.on('error', ignoreError);
  slot[SLOT] = { settingsFile, child };
}

function usable(child: ChildProcess): boolean {
  // One that died loading (its exit perhaps already told) is not taken: the runner would wait for an exit that has come.
  return child.connected && child.exitCode === null && child.signalCode === null;
}

/** The spare worker, if one for this pipeline is waiting (then it is no longer spare). */
export function takeSpareWorker(settingsFile: string): ChildProcess | undefined {
  const spare = slot[SLOT];
  if (!spare || (spare.settingsFile !== undefined && spare.settingsFile !== settingsFile) || !usable(spare.child)) return undefined;
  const { child } = spare;
  slot[SLOT] = undefined;
  child.off('error', ignoreError);
  // Taken: the runner waits for it (a spare forked for the command line was unref'd).
  child.ref();
  child.channel?.ref();
  (child.stderr as { ref?: () => void } | null)?.ref?.();
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
  const spare = slot[SLOT];
  if (!spare) return;
  const { child } = spare;
  slot[SLOT] = undefined;
  if (child.connected) child.disconnect();
  child.kill('SIGTERM');
  child.stderr?.destroy();
  child.unref();
}
