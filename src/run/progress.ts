import type { Output } from '../core/output.js';

interface Entry {
  rows: number;
  started: number;
}

/**
 * One status line on the terminal for long loads and runs: rows done and rate per
 * processor, redrawn at most five times a second. Silent when stderr is not a
 * terminal, so logs and CI output stay clean.
 */
export class ProgressBoard {
  private readonly entries = new Map<string, Entry>();
  private readonly output: Output;
  private readonly enabled: boolean;
  private lastDraw = 0;
  private drawn = false;

  constructor(output: Output, enabled = output.interactive) {
    this.output = output;
    this.enabled = enabled;
  }

  start(name: string): void {
    this.entries.set(name, { rows: 0, started: Date.now() });
  }

  update(name: string, rows: number): void {
    const entry = this.entries.get(name) ?? { rows: 0, started: Date.now() };
    entry.rows = rows;
    this.entries.set(name, entry);
    const now = Date.now();
    if (this.enabled && now - this.lastDraw >= 200) {
      this.lastDraw = now;
      this.draw(now);
    }
  }

  end(name: string): void {
    this.entries.delete(name);
    if (this.enabled && this.drawn) this.draw(Date.now());
  }

  /** Clears the line before other output (summaries, errors). */
  clear(): void {
    if (this.enabled && this.drawn) {
      this.output.err('\r\x1b[2K');
      this.drawn = false;
    }
  }

  private draw(now: number): void {
    const parts = [...this.entries].map(([name, e]) => {
      const seconds = Math.max((now - e.started) / 1000, 0.001);
      return `${name} ${e.rows.toLocaleString('en-US')} rows (${Math.round(e.rows / seconds).toLocaleString('en-US')}/s)`;
    });
    const width = process.stderr.columns || 100;
    const line = parts.join(' | ');
    this.output.err('\r\x1b[2K' + (line.length > width - 1 ? line.slice(0, width - 2) + '…' : line));
    this.drawn = parts.length > 0;
  }
}
