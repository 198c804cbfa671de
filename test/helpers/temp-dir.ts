import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/** A fresh empty folder under the system temp folder. */
export function makeTempDir(prefix = 'corral-test-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Runs `work` in a fresh temporary folder and removes the folder afterwards, whatever happens. */
export async function withTempDir<T>(work: (dir: string) => T | Promise<T>, prefix?: string): Promise<T> {
  const dir = makeTempDir(prefix);
  try {
    return await work(dir);
  } finally {
    removeDir(dir);
  }
}

/** A temporary folder for the whole test file, removed after its last test. Call at the top level. */
export function tempDirForFile(prefix?: string): () => string {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) removeDir(dir);
  });
  return () => (dir ??= makeTempDir(prefix));
}
