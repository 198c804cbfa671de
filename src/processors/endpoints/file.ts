import fs from 'node:fs';
import path from 'node:path';
import type { SettingsView } from '../../conf/load.js';
import type { ModelInstance } from '../../db/model.js';
import type { Alert } from '../alert.js';
import { describeError } from '../../core/errors.js';
import { Endpoint, deliveryError } from './endpoint.js';

export interface FileOptions {
  /** `'a'` appends, `'w'` starts the file afresh on every run. (Default: `'a'`) */
  mode?: 'a' | 'w';
  /** (Default: `'utf8'`) */
  encoding?: BufferEncoding;
}

/**
 * Writes one rendered line per alerted row. A line carries no idempotency key: a
 * row delivered twice (see "Duplicates" in the README) is written twice. A relative path is relative to the
 * pipeline folder (not to wherever the command was started); in tests, to the
 * test's temporary folder.
 */
export class File extends Endpoint {
  /** The path, or a function of the settings that gives it (e.g. from a setting of the pipeline). */
  readonly path: string | ((settings: SettingsView) => string);
  readonly mode: 'a' | 'w';
  readonly encoding: BufferEncoding;
  private fd: number | undefined;

  constructor(filePath: string | ((settings: SettingsView) => string), options: FileOptions = {}) {
    super();
    this.path = filePath;
    this.mode = options.mode ?? 'a';
    this.encoding = options.encoding ?? 'utf8';
  }

  /** The absolute path written to (relative paths: see `outputRoot` in the settings). */
  get resolvedPath(): string {
    const settings = this.settings;
    const given = typeof this.path === 'function' ? this.path(settings) : this.path;
    return path.resolve(settings.resolved.outputRoot, given);
  }

  override setup(alert: Alert): void {
    super.setup(alert);
    const target = this.resolvedPath;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    this.fd = fs.openSync(target, this.mode);
  }

  /** One write per row, at once: no promise unless the alert renders asynchronously (a row waits for nothing else). */
  process(row: ModelInstance): void | Promise<void> {
    const text = this.render(row);
    if (typeof text !== 'string') return text.then((rendered) => this.write(rendered));
    this.write(text);
  }

  private write(text: string): void {
    try {
      fs.writeSync(this.fd!, text.endsWith('\n') ? text : text + '\n', null, this.encoding);
    } catch (error) {
      // A full disk or a failing device refuses every row alike: the file's failure, not the row's.
      throw deliveryError('File', this.resolvedPath, describeError(error), error);
    }
  }

  override teardown(error?: unknown): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    super.teardown(error);
  }
}
