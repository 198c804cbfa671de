import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { ScaffoldedPipeline } from './pipeline.js';
import { queryDb } from './sqlite.js';

/** What the untouched scaffold's three example rows look like after MyStep. */
export const PROCESSED_EXAMPLES = [1, 2, 3].map((i) => ({ id: i, name: `example-${i}`, value: i, processed: 1, doubled: 2 * i }));

export function alertFile(pipe: ScaffoldedPipeline): string {
  return path.join(pipe.root, 'my_alert.log');
}

/** Removes the database and the alert file: the pipeline as freshly created. */
export function resetPipeline(pipe: ScaffoldedPipeline): void {
  for (const file of [pipe.dbFile, `${pipe.dbFile}-wal`, `${pipe.dbFile}-shm`, alertFile(pipe)]) fs.rmSync(file, { force: true });
}

export function examples(pipe: ScaffoldedPipeline): unknown[] {
  return queryDb(pipe.dbFile, 'SELECT id, name, value, processed, doubled FROM Example ORDER BY id');
}

/** The scaffold's alert wrote one line per example row, and remembered each row once. */
export function expectAlertedOnce(pipe: ScaffoldedPipeline): void {
  const line = new RegExp(`^\\[${pipe.name}-ALERT @ \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] Check the object '<Example example-(\\d)>'$`);
  const lines = fs.readFileSync(alertFile(pipe), 'utf8').trimEnd().split('\n');
  expect(lines).toHaveLength(3);
  expect(lines.map((text) => line.exec(text)?.[1]).sort()).toEqual(['1', '2', '3']);
  expect(queryDb(pipe.dbFile, 'SELECT alert, model_table, model_key FROM corral_alerted ORDER BY model_key')).toEqual(
    ['1', '2', '3'].map((key) => ({ alert: 'MyAlert', model_table: 'Example', model_key: key })),
  );
}
