import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST_DIR } from '../helpers/paths.js';
import { describeResult, runCli } from '../helpers/run-cli.js';

/** The entry points' exit (cli/exit.ts): at once when the loop is empty, and nothing written or pending is lost. */
describe('exitWhenIdle', () => {
  let dir: string;
  const main = pathToFileURL(path.join(DIST_DIR, 'cli', 'main.js')).href;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-exit-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function script(name: string, body: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `import { exitWhenIdle } from ${JSON.stringify(main)};\n${body}\n`);
    return file;
  }

  it('writes all of a large output through pipes before the process ends, with the code given', async () => {
    // Several times a pipe's buffer (64 KiB): the reader drains while the writer waits.
    const file = script('large.mjs', `process.stdout.write('o'.repeat(4 << 20)); process.stderr.write('e'.repeat(1 << 20)); process.stdout.write('END'); exitWhenIdle(3);`);
    const result = await runCli([file], { cwd: dir });
    expect(result.code, describeResult(result)).toBe(3);
    expect(result.stdout.length).toBe((4 << 20) + 3);
    expect(result.stdout.endsWith('END')).toBe(true);
    expect(result.stderr.length).toBe(1 << 20);
  });

  it('lets work still in the event loop finish, and its exit code stand', async () => {
    const file = script('pending.mjs', `exitWhenIdle(0); setTimeout(() => { process.stdout.write('late'); process.exitCode = 5; }, 50);`);
    const result = await runCli([file], { cwd: dir });
    expect(result.code, describeResult(result)).toBe(5);
    expect(result.stdout).toBe('late');
  });

  it("leaves the exit to the loop when another 'beforeExit' listener may give it more work", async () => {
    const file = script(
      'listener.mjs',
      `let again = true;
process.on('beforeExit', () => { if (again) { again = false; setTimeout(() => process.stdout.write('again'), 20); } });
exitWhenIdle(4);`,
    );
    const result = await runCli([file], { cwd: dir });
    expect(result.code, describeResult(result)).toBe(4);
    expect(result.stdout).toBe('again');
  });
});
