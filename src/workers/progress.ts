import { formatCount, formatEta, formatPercent, formatRate } from '../core/format.js';
import { interceptLogLines } from '../core/logger.js';
import type { Output } from '../core/output.js';

interface Entry {
  rows: number;
  started: number;
  /** The backlog counted when it started; undefined for a loader, or while it is counted. */
  total: number | undefined;
}

/** The line is drawn at most this often. */
const DRAW_EVERY_MS = 200;

/** Erases the terminal's current line and puts the cursor at its start. */
const CLEAR = '\r\x1b[2K';

export interface ProgressBoardOptions {
  /** Draw the line (default: when `output` is a terminal). Off, the board only passes lines through. */
  readonly enabled?: boolean;
  /** The terminal's width (default: stderr's columns, else 100). */
  readonly columns?: () => number;
  /** The clock, in ms (tests). */
  readonly now?: () => number;
}

/**
 * The one status line at the bottom of the terminal during a run: per processor,
 * rows done of the backlog counted at its start, %, rate and ETA, redrawn at most
 * five times a second. Everything else written to stderr meanwhile goes through
 * `write`: the line is cleared, the text written, the line drawn again, so a log
 * line never lands glued to the status line. The parent's log records come here
 * (interceptLogLines), and so do the forked children's, whose stderr the runner
 * reads line by line (runner.ts).
 *
 * Off a terminal nothing is drawn and `write` writes: logs and CI output stay clean.
 */
export class ProgressBoard {
  private readonly entries = new Map<string, Entry>();
  private readonly output: Output;
  private readonly enabled: boolean;
  private readonly columns: () => number;
  private readonly now: () => number;
  private lastDraw = 0;
  /** A draw put off by the rate limit. */
  private pending: NodeJS.Timeout | undefined;
  /** The text of the line on screen, or '' when none is drawn. */
  private drawn = '';

  constructor(output: Output, options: ProgressBoardOptions = {}) {
    this.output = output;
    this.enabled = options.enabled ?? output.interactive;
    this.columns = options.columns ?? (() => process.stderr.columns || 100);
    this.now = options.now ?? Date.now;
    // The parent's own log records, while the line may be on screen.
    if (this.enabled) interceptLogLines((line) => this.write(line));
  }

  /** Whether the line is drawn: the runner then counts each processor's backlog for it. */
  get drawing(): boolean {
    return this.enabled;
  }

  start(name: string, total?: number): void {
    this.entries.set(name, { rows: 0, started: this.now(), total });
  }

  /** The backlog of a processor, once counted. */
  setTotal(name: string, total: number): void {
    const entry = this.entries.get(name);
    if (entry) entry.total = total;
  }

  update(name: string, rows: number): void {
    const entry = this.entries.get(name) ?? { rows: 0, started: this.now(), total: undefined };
    entry.rows = rows;
    this.entries.set(name, entry);
    if (!this.enabled) return;
    const wait = DRAW_EVERY_MS - (this.now() - this.lastDraw);
    if (wait <= 0) this.draw();
    // Too soon: drawn a little later, so a processor that then stalls (a slow row) still shows where it is.
    else this.pending ??= setTimeout(() => this.draw(), wait).unref();
  }

  end(name: string): void {
    this.entries.delete(name);
    if (this.drawn) this.draw();
  }

  /**
   * Writes whole lines to stderr above the status line: clears it, writes, draws it
   * again. `text` should end with a newline (a log record, a child's line).
   */
  write(text: string): void {
    if (!this.drawn) {
      this.output.err(text);
      return;
    }
    this.output.err(CLEAR + text);
    this.output.err(this.drawn);
  }

  /** Clears the line before other output (summaries, errors), and gives the log its stderr back. */
  clear(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
    if (this.drawn) this.output.err(CLEAR);
    this.drawn = '';
    if (this.enabled) interceptLogLines(undefined);
  }

  /** The status line's text for now, cut to the terminal's width. */
  line(): string {
    const now = this.now();
    const parts = [...this.entries].map(([name, e]) => describe(name, e, (now - e.started) / 1000));
    const width = this.columns();
    const line = parts.join(' | ');
    return line.length > width - 1 ? line.slice(0, Math.max(0, width - 2)) + '…' : line;
  }

  private draw(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
    if (!this.enabled) return;
    this.lastDraw = this.now();
    const line = this.line();
    this.output.err(CLEAR + line);
    this.drawn = line;
  }
}

/** `MyStep 1,200/5,000 24% 310/s ETA 13s`; a loader (no backlog): `Loader 1,200 rows 310/s`. */
function describe(name: string, entry: Entry, seconds: number): string {
  const rate = seconds > 0 ? entry.rows / seconds : 0;
  if (entry.total === undefined) return `${name} ${formatCount(entry.rows)} rows ${formatRate(rate)}`;
  const left = Math.max(0, entry.total - entry.rows);
  return `${name} ${formatCount(entry.rows)}/${formatCount(entry.total)} ${formatPercent(entry.rows, entry.total)} ${formatRate(rate)} ${formatEta(left, rate)}`;
}
