/**
 * Sets the exit code of a command's process and ends it by `process.exit` as soon as its
 * event loop has nothing left to do, for the entry points (`bin/corral.js`, a pipeline's
 * `in_corral.js`). Left to end by itself, Node first tears down the heap and the
 * environment (~20 ms of a `run` after its last line is written, and the caller waits
 * for the exit). Only when the loop is empty: by then every write to stdout and stderr
 * is done (a write in flight keeps the loop alive, pipes included), every file and
 * connection closed, and work a pipeline left running (a timer, a request, a server)
 * has ended, as it would have without this.
 */
export function exitWhenIdle(code: number): void {
  process.exitCode = code;
  process.once('beforeExit', () => {
    // Another 'beforeExit' listener may give the loop more work: then the loop ends by itself.
    if (process.listenerCount('beforeExit') === 0) process.exit();
  });
}
