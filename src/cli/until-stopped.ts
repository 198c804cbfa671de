/**
 * Resolves with the signal that asks a long-running command to stop: Ctrl-C
 * (SIGINT) or SIGTERM. `serve` and `profile` wait on it; their exit codes differ
 * by the signal (130 for Ctrl-C, 0 for a service manager's SIGTERM).
 */
export function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
