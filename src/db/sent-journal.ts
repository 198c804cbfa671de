import fs from 'node:fs';
import path from 'node:path';
import { processAlive } from '../core/process-alive.js';

/**
 * An alert process's sent journal on a SQLite database file: the rows it delivered
 * in the batch in flight (see `runAlertRows`), one line each, so that a crash
 * between two commits re-sends at most the one row in flight.
 *
 * Each line is appended with one `write` on a descriptor opened with O_APPEND,
 * before the next row is delivered: once `append` returns, the line is in the
 * kernel and survives the process (SIGKILL, out of memory). It is not synced to the
 * disk: a power loss may take it, as it may take the last commits of a WAL database
 * under synchronous=NORMAL. After the batch commits, the file is truncated.
 *
 * The files are in a folder beside the database (`<file>-corral-sent/`), one per
 * alert run (`<pid>-<random>`). Every batch, after it has taken the write lock, replays
 * the others' files (`replay`): a file another process left is either the batch of a
 * process that died before it committed (its rows were delivered: they are recorded
 * now) or the batch of a live process that committed and has not truncated yet
 * (recording them again does nothing). No process writes its journal without holding
 * the write lock, so none writes while another replays.
 */
export class SentJournal {
  readonly folder: string;
  private readonly name = `${process.pid}-${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}`;
  private readonly file: string;
  private fd: number | undefined;
  /** Lines appended since the last `clear`: rows delivered whose batch has not committed. */
  private pending = 0;
  /** Journals of dead processes replayed in the transaction in flight: removed once it commits. */
  private replayed: string[] = [];
  /** Why the journal could not be written; from then on it is not used. */
  failure: unknown;

  constructor(database: string) {
    this.folder = `${database}-corral-sent`;
    this.file = path.join(this.folder, this.name);
  }

  get usable(): boolean {
    return this.failure === undefined;
  }

  /**
   * Appends one delivered row; false (and `failure` set) when the line could not be
   * written whole: the caller commits at once and stops batching.
   */
  append(alert: string, table: string, key: string): boolean {
    if (this.failure !== undefined) return false;
    try {
      const fd = (this.fd ??= this.open());
      const line = Buffer.from(JSON.stringify([alert, table, key]) + '\n');
      const written = fs.writeSync(fd, line);
      this.pending += 1;
      if (written !== line.length) throw new Error(`wrote ${written} of ${line.length} bytes to ${this.file}`);
      return true;
    } catch (error) {
      this.failure = error;
      return false;
    }
  }

  /** After the batch's commit: its rows and the ones it replayed are recorded, their lines are no longer needed. */
  clear(): void {
    if (this.replayed.length > 0) {
      for (const file of this.replayed) fs.rmSync(file, { force: true });
      this.replayed = [];
    }
    if (this.pending === 0 || this.fd === undefined) return;
    try {
      fs.ftruncateSync(this.fd);
      this.pending = 0;
    } catch {
      // The lines stay; replaying rows already recorded does nothing.
    }
  }

  /**
   * Inside a write transaction, before anything is claimed: hands every complete line
   * of the other processes' journals to `record`. A partial last line (a crash in
   * mid-write) is ignored. The journals of dead processes are removed by `clear`, once
   * the transaction that recorded their rows has committed: one that rolls back, or
   * dies, leaves them to the next. A live process's journal is left to its owner,
   * which empties it when its batch commits (its lines are then recorded already, or
   * its commit failed and it keeps them, for whoever replays after it is gone). Also
   * makes this process's own file again if a replaying process removed it (one that
   * took this process for dead, e.g. in another PID namespace).
   */
  replay(record: (alert: string, table: string, key: string) => void): void {
    if (this.fd !== undefined && fs.fstatSync(this.fd).nlink === 0) this.reopen();
    let names: string[];
    try {
      names = fs.readdirSync(this.folder);
    } catch {
      return;
    }
    this.replayed = [];
    for (const name of names) {
      // Its own lines are still there only when their batch did not commit (SQLite rolled it back): they count too.
      if (name === this.name && this.pending === 0) continue;
      const file = path.join(this.folder, name);
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of completeLines(text)) record(...line);
      const pid = /^(\d+)-[0-9a-f]+$/.exec(name)?.[1];
      if (pid !== undefined && !processAlive(Number(pid))) this.replayed.push(file);
    }
  }

  /** At the end of the run: the file goes when its rows are all committed (otherwise the next batch of any process replays it). */
  close(): void {
    if (this.fd === undefined) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Closed with the process anyway.
    }
    this.fd = undefined;
    if (this.pending > 0) return;
    fs.rmSync(this.file, { force: true });
    try {
      fs.rmdirSync(this.folder);
    } catch {
      // Other processes' journals are there (ENOTEMPTY), or it is gone already.
    }
  }

  private open(): number {
    let last: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.mkdirSync(this.folder, { recursive: true });
        return fs.openSync(this.file, 'a');
      } catch (error) {
        // A process closing its journal removed the empty folder in between: make it again.
        last = error;
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') break;
      }
    }
    throw last;
  }

  private reopen(): void {
    try {
      fs.closeSync(this.fd!);
    } catch {
      // Only a fresh descriptor matters.
    }
    this.fd = undefined;
    try {
      this.fd = this.open();
    } catch (error) {
      this.failure = error;
    }
  }
}

/** The lines of a journal ended by a newline that name an alert, a table and a key. */
function completeLines(text: string): [string, string, string][] {
  const lines: [string, string, string][] = [];
  const end = text.lastIndexOf('\n');
  if (end < 0) return lines;
  for (const line of text.slice(0, end).split('\n')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    if (Array.isArray(parsed) && parsed.length === 3 && parsed.every((part) => typeof part === 'string')) lines.push(parsed as [string, string, string]);
  }
  return lines;
}

