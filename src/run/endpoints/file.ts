import fs from 'node:fs';
import path from 'node:path';
import { activeSettings } from '../../conf/load.js';
import type { ModelInstance } from '../../db/model.js';
import type { Alert } from '../alert.js';
import { Endpoint } from './endpoint.js';

export interface FileOptions {
  /** `'a'` appends, `'w'` starts the file afresh on every run. (Default: `'a'`) */
  mode?: 'a' | 'w';
  /** (Default: `'utf8'`) */
  encoding?: BufferEncoding;
}

/**
 * Writes one rendered line per alerted row. A relative path is relative to the
 * pipeline folder, not to wherever the command was started.
 */
export class File extends Endpoint {
  readonly path: string;
  readonly mode: 'a' | 'w';
  readonly encoding: BufferEncoding;
  private fd: number | undefined;

  constructor(filePath: string, options: FileOptions = {}) {
    super();
    this.path = filePath;
    this.mode = options.mode ?? 'a';
    this.encoding = options.encoding ?? 'utf8';
  }

  /** The absolute path written to. */
  get resolvedPath(): string {
    return path.resolve(activeSettings().root, this.path);
  }

  override setup(alert: Alert): void {
    super.setup(alert);
    const target = this.resolvedPath;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    this.fd = fs.openSync(target, this.mode);
  }

  process(row: ModelInstance): void {
    const text = this.render(row);
    fs.writeSync(this.fd!, text.endsWith('\n') ? text : text + '\n', null, this.encoding);
  }

  override teardown(error?: unknown): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    super.teardown(error);
  }
}
