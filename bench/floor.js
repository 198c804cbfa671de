/**
 * The floor of (b): `node bench/floor.js N` forks N bare Node children at once
 * (with an IPC channel, as corral forks its processors) and waits until all have
 * exited. Timed from outside like `run-all`, so both include the parent's start.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.argv[2] !== 'child') {
  const count = Number(process.argv[2] ?? 10);
  const self = fileURLToPath(import.meta.url);
  await Promise.all(
    Array.from({ length: count }, () => new Promise((resolve) => fork(self, ['child'], { stdio: 'inherit' }).on('exit', resolve))),
  );
}
