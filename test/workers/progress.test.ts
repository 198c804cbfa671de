/**
 * The progress line (workers/progress.ts) on a fake terminal: an Output that says it is
 * interactive and records every write. The real terminal is test/e2e/progress-line.test.ts.
 */
import { afterEach, expect, test } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { memoryOutput, type Output } from '../../src/core/output.js';
import { ProgressBoard } from '../../src/workers/progress.js';

const CLEAR = '\r\x1b[2K';

/** A terminal `columns` wide that keeps each write apart. */
function fakeTerminal(): Output & { writes: string[]; text(): string } {
  const writes: string[] = [];
  return { interactive: true, out: (t) => void writes.push(t), err: (t) => void writes.push(t), writes, text: () => writes.join('') };
}

/** A clock the test moves. */
function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

let boards: ProgressBoard[] = [];
afterEach(() => {
  for (const board of boards) board.clear();
  boards = [];
});

function board(output: Output, options: ConstructorParameters<typeof ProgressBoard>[1] = {}): ProgressBoard {
  const made = new ProgressBoard(output, options);
  boards.push(made);
  return made;
}

test('when a step has a backlog then the line shows rows done of it, the percent, the rate and the ETA', () => {
  const terminal = fakeTerminal();
  const time = clock();
  const b = board(terminal, { now: time.now, columns: () => 200 });
  b.start('MyStep', 2000);
  time.advance(2000);
  b.update('MyStep', 500);
  expect(b.line()).toBe('MyStep 500/2,000 25% 250/s ETA 6s');
  expect(terminal.writes.at(-1)).toBe(CLEAR + 'MyStep 500/2,000 25% 250/s ETA 6s');
});

test('when a loader and a step run at once then each has its part; the loader, with no backlog, shows rows and rate', () => {
  const time = clock();
  const b = board(fakeTerminal(), { now: time.now, columns: () => 200 });
  b.start('Loader');
  b.start('MyStep', 10);
  time.advance(4000);
  b.update('Loader', 4800);
  b.update('MyStep', 10);
  expect(b.line()).toBe('Loader 4,800 rows 1,200/s | MyStep 10/10 100% 2.5/s ETA 0s');
});

test('when the line is wider than the terminal then it is cut with an ellipsis', () => {
  const b = board(fakeTerminal(), { columns: () => 20 });
  b.start('AVeryLongStepNameIndeed', 5);
  expect(b.line()).toBe('AVeryLongStepNameI…');
});

test('when a log record comes while the line is drawn then the line is cleared, the record written whole, and the line drawn again', () => {
  const terminal = fakeTerminal();
  const time = clock();
  const b = board(terminal, { now: time.now, columns: () => 200 });
  b.start('MyStep', 100);
  time.advance(1000);
  b.update('MyStep', 10);
  const logger = createLogger({ name: 'pipe', level: 'info', format: 'pretty' });
  logger.info('a record');
  b.write('a line of a child\n');
  const line = 'MyStep 10/100 10% 10/s ETA 9s';
  const after = terminal.text().slice(terminal.text().indexOf(line) + line.length);
  expect(after.replace(/\d\d:\d\d:\d\d/, 'HH:MM:SS')).toBe(`${CLEAR}[pipe INFO HH:MM:SS] a record\n${line}${CLEAR}a line of a child\n${line}`);
});

test('when the board is cleared then the line is erased and log records go to stderr again, not through the board', () => {
  const terminal = fakeTerminal();
  const b = board(terminal, { columns: () => 200 });
  b.start('MyStep', 1);
  b.update('MyStep', 0);
  b.clear();
  expect(terminal.writes.at(-1)).toBe(CLEAR);
  const written = terminal.writes.length;
  const stderr: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string) => stderr.push(chunk) > 0) as typeof process.stderr.write;
  try {
    createLogger({ name: 'pipe', level: 'info', format: 'pretty' }).info('after the run');
  } finally {
    process.stderr.write = original;
  }
  expect(terminal.writes).toHaveLength(written);
  expect(stderr.join('')).toMatch(/\] after the run\n$/);
});

test('when stderr is no terminal then nothing is drawn and lines pass through as they are', () => {
  const output = memoryOutput();
  const b = board(output);
  b.start('MyStep', 100);
  b.update('MyStep', 50);
  b.write('a line\n');
  b.end('MyStep');
  expect(output.stderr).toBe('a line\n');
});
