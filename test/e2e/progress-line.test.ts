/**
 * Issue 13, point 4: the progress line tells the truth and log lines are never glued
 * to it. On a real pseudo-terminal (util-linux `script`), `run-all` draws per processor
 * rows done of the backlog counted at start, %, rate and ETA, and every log record, of
 * the parent and of the forked children, starts on a line of its own. Off a terminal,
 * the children's lines (read by the runner line by line) reach stderr whole, even
 * long ones from two processes at once, and a child's last words before it dies are
 * not lost. The board itself is test/run/progress.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { configureSettings, waitFor } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { cleanEnv, type CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-progress-');
let scaffold: ScaffoldedPipeline | undefined;

beforeAll(async () => {
  scaffold ??= await createPipeline(tempDir(), 'ptypipe');
});

/** What the status line writes to erase itself. */
const CLEAR = '\r\x1b[2K';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

/** A step that logs one line per row: `row <value> ` and `width` x's. */
function loggingStep(pipe: ScaffoldedPipeline, width: number, before = ''): void {
  pipe.edit('steps.ts', "import { Step } from 'corral';", "import fs from 'node:fs';\nimport { Step } from 'corral';");
  pipe.edit(
    'steps.ts',
    '  process(row: Example) {\n',
    `  async process(row: Example) {
    ${before}
    this.logger.info('row ' + row.value + ' ' + 'x'.repeat(${width}));
`,
  );
}

describe.skipIf(!hasScript)('on a terminal (util-linux script)', () => {
  test('when run-all works on a terminal then the line shows done of backlog, %, rate and ETA, and every log record starts a line of its own', { timeout: 180_000 }, async () => {
    const pipe = copyPipeline(scaffold!, tempDir(), 'pty');
    const go = path.join(pipe.root, 'go');
    pipe.edit('settings.ts', 'exampleRows: 3', 'exampleRows: 40');
    configureSettings(pipe, { chunkSize: 1, logLevel: 'info' });
    // Row 20 waits (the event loop turning) until the test has seen the progress line.
    loggingStep(pipe, 10, `if (row.value === 20) while (!fs.existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 20));`);
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    expectExit(await pipe.cli(['load']), 0);

    let raw = '';
    const script = spawn('script', ['-qfec', `${JSON.stringify(process.execPath)} in_corral.js run-all`, '/dev/null'], { cwd: pipe.root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    script.stdout.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
    const exit = new Promise<number>((resolve) => script.on('close', (code) => resolve(code ?? -1)));
    // Patient: on a loaded machine each process start takes seconds.
    await waitFor('the progress line of MyStep', () => /MyStep \d+\/40 \d+% /.test(raw), 100_000).catch((error: Error) => {
      script.kill('SIGKILL');
      throw new Error(`${error.message}; the terminal showed:\n${JSON.stringify(raw)}`);
    });
    fs.writeFileSync(go, '');
    expect(await exit, raw).toBe(0);

    // Drawn with the backlog counted at its start, the rate and the ETA.
    const drawn = raw.split(CLEAR).slice(1);
    expect(drawn.some((text) => /^MyStep \d{1,2}\/40 \d{1,3}% [\d.,]+\/s ETA (\d+s|\d+m \d\ds|\d+h \d\dm|\?)/.test(text)), raw).toBe(true);
    // Each log record, the parent's and the children's, begins at column 0: after a newline or after the line was cleared.
    const starts = [...raw.matchAll(/\[ptypipe (INFO|WARN|ERROR) /g)].map((m) => m.index);
    expect(starts.length).toBeGreaterThan(40);
    for (const at of starts) {
      const before = raw.slice(Math.max(0, at - 4), at);
      expect(at === 0 || before.endsWith('\n') || before === CLEAR.slice(1), `glued: ${JSON.stringify(raw.slice(Math.max(0, at - 60), at + 20))}`).toBe(true);
    }
    // And whole: the 40 rows' records, each once.
    const afterClear = (line: string) => line.slice(line.lastIndexOf(CLEAR) < 0 ? 0 : line.lastIndexOf(CLEAR) + CLEAR.length);
    const rows = raw.split(/\r?\n/).map(afterClear).filter((line) => / MyStep: row \d+ x{10}$/.test(line));
    expect(rows).toHaveLength(40);
    // The summary comes after the line is gone.
    expect(raw).toMatch(/\n {2}ok +step +MyStep +40 rows/);
  });
});

test('when two processes of a step log long lines and one dies then every line reaches stderr whole, its last words included', async () => {
  const pipe = copyPipeline(scaffold!, tempDir(), 'pipe');
  pipe.edit('settings.ts', 'exampleRows: 3', 'exampleRows: 60');
  configureSettings(pipe, { chunkSize: 2, logLevel: 'info', procs: { MyStep: 2 } });
  // Row 59 (process 1 of 2: odd keys) writes without a newline at the end and exits.
  loggingStep(pipe, 5000, "if (row.value === 59) { process.stderr.write('last words of a crash\\nhalf a line'); process.exit(7); }");
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  expectExit(await pipe.cli(['load']), 0);
  const result: CliResult = await pipe.cli(['run']);
  expectExit(result, 1);
  const lines = result.stderr.split('\n');
  const rows = lines.filter((line) => / MyStep: row \d+ /.test(line));
  // Odd rows before 59 from one process, all even rows from the other.
  expect(rows.length).toBe(29 + 30);
  for (const line of rows) expect(line, line.slice(0, 80)).toMatch(/^\[ptypipe INFO \d\d:\d\d:\d\d\] MyStep: row \d+ x{5000}$/);
  const lastWords = lines.indexOf('last words of a crash');
  expect(lastWords).toBeGreaterThan(-1);
  // The line it left without a newline is held until its stderr ends (the other process's lines may come between), then written whole.
  const halfLine = lines.indexOf('half a line');
  expect(halfLine).toBeGreaterThan(lastWords);
  // Both told before the summary that reports the death.
  expect(lines.findIndex((line) => line.includes('stopped before reporting (exit code 7)'))).toBeGreaterThan(halfLine);
});
