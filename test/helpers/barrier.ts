/**
 * A start barrier for the processes of a scaffolded pipeline, to make concurrent
 * runs overlap by construction rather than by timing (a loaded machine can start
 * one command after another has finished).
 *
 * The processor's constructor, which runs after its corral_runs row is written and
 * before its setup or any transaction, drops a marker file and waits until
 * `parties` markers are there. It waits synchronously (Atomics.wait), so it holds
 * no lock and needs no timer, and after 60 s it fails the processor with a message
 * that says which barrier was not met. Only commands given `barrierEnv(...)` wait.
 *
 *     addStartBarrier(pipe, 'steps.ts', 'MyStep');
 *     const env = barrierEnv(dir, 6);  // six workers must all have started
 *     startCommand(pipe, ['run'], { env });
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ScaffoldedPipeline } from './pipeline.js';

/** Gives class `className` of the pipeline file `file` the barrier constructor. */
export function addStartBarrier(pipe: ScaffoldedPipeline, file: string, className: string): void {
  const source = fs.readFileSync(pipe.file(file), 'utf8');
  if (!source.includes("import fs from 'node:fs';")) pipe.edit(file, /^import /m, "import fs from 'node:fs';\nimport path from 'node:path';\nimport ");
  pipe.edit(
    file,
    new RegExp(`(export class ${className} extends [^{]+\\{\\n)`),
    `$1  constructor() {
    super();
    const dir = process.env.E2E_BARRIER_DIR;
    if (!dir) return;
    const parties = Number(process.env.E2E_BARRIER_PARTIES);
    fs.writeFileSync(path.join(dir, String(process.pid)), '');
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const until = Date.now() + 60_000;
    while (fs.readdirSync(dir).length < parties) {
      if (Date.now() > until) throw new Error(\`start barrier: only \${fs.readdirSync(dir).length} of \${parties} processes of ${className} started within 60 s\`);
      Atomics.wait(nap, 0, 0, 10);
    }
  }

`,
  );
}

/** The environment of a command whose processes wait for `parties` of them; `dir` is made empty. */
export function barrierEnv(dir: string, parties: number): Record<string, string> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return { E2E_BARRIER_DIR: path.resolve(dir), E2E_BARRIER_PARTIES: String(parties) };
}

/** The pids of the processes that reached the barrier. */
export function barrierArrivals(dir: string): number[] {
  return fs.readdirSync(dir).map(Number);
}
