import { spawn } from 'node:child_process';

export interface CliResult {
  /** The exit code (or -1 when killed by a signal). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly cwd: string;
  /** Extra variables; `undefined` removes one from the inherited environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Sent to standard input (then closed); by default standard input is closed at once. */
  readonly input?: string;
  /** startCli: run in a process group of its own, as a shell runs a command (for killGroup). */
  readonly group?: boolean;
}

// What vitest adds to process.env besides VITEST_*: a user's shell has none of them.
const VITEST_SET = new Set(['NODE_OPTIONS', 'NODE_ENV', 'TEST', 'MODE', 'BASE_URL', 'DEV', 'PROD', 'SSR']);

/**
 * The environment a user's shell would give: none of vitest's variables, no colours,
 * and no DATABASE_URL of the machine's (it would replace every pipeline's connection).
 */
export function cleanEnv(extra: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(VITEST|VITE_|TINYPOOL|CORRAL_)/.test(key) || VITEST_SET.has(key) || key === 'DATABASE_URL') continue;
    env[key] = value;
  }
  env.NO_COLOR = '1';
  env.FORCE_COLOR = '0';
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/**
 * Runs `node <script> <args...>` as a user would and collects its output:
 * `runCli(['in_corral.js', 'run', '--sync'], { cwd: pipeline.root })`.
 */
export function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** The result as one readable block, for assertion messages. */
export function describeResult(result: CliResult): string {
  return `exit ${result.code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

/** A command started in the background: its process, its output so far, and its result. */
export interface RunningCli {
  readonly child: import('node:child_process').ChildProcessWithoutNullStreams;
  readonly pid: number;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and its output is closed. */
  readonly result: Promise<CliResult>;
  /** Sends a signal to the process (not to its children). */
  kill(signal: NodeJS.Signals): void;
  /**
   * Sends a signal to the whole process group, as a terminal does on Ctrl-C (SIGINT):
   * the command and the children it forked all get it. Needs `group: true`.
   */
  killGroup(signal: NodeJS.Signals): void;
}

/**
 * Starts `node <script> <args...>` as runCli does, without waiting for it: for
 * signals and for several commands at once. Standard input is closed at once.
 */
export function startCli(args: readonly string[], options: CliOptions): RunningCli {
  const child = spawn(process.execPath, [...args], { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'], detached: options.group ?? false });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  child.stdin.end(options.input ?? '');
  if (child.pid === undefined) throw new Error(`Could not start node ${args.join(' ')}`);
  return {
    child,
    pid: child.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    result,
    kill: (signal) => void child.kill(signal),
    killGroup(signal) {
      if (!options.group) throw new Error('killGroup needs startCli(..., { group: true })');
      process.kill(-child.pid!, signal);
    },
  };
}
