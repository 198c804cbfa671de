import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { truthy, type PipelineDb } from './pipeline-db.js';
import type { ScaffoldedPipeline } from './pipeline.js';
import { resetSchema } from './postgres.js';
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

/** resetPipeline on either database: on PostgreSQL every table of the pipeline's database goes. */
export async function resetPipelineDb(pipe: ScaffoldedPipeline, db: PipelineDb): Promise<void> {
  resetPipeline(pipe);
  if (db.dialect === 'postgres') await resetSchema(db.connection);
}

export function examples(pipe: ScaffoldedPipeline): unknown[] {
  return queryDb(pipe.dbFile, 'SELECT id, name, value, processed, doubled FROM Example ORDER BY id');
}

/** The Example rows on either database, `processed` as 1 or 0 (as PROCESSED_EXAMPLES has it). */
export async function examplesIn(db: PipelineDb): Promise<unknown[]> {
  const rows = await db.query<Record<string, unknown>>('SELECT id, name, value, processed, doubled FROM "Example" ORDER BY id');
  return rows.map((row) => ({ ...row, processed: truthy(row.processed) ? 1 : 0 }));
}

/** The scaffold's alert wrote one line per example row, and remembered each row once. */
export function expectAlertedOnce(pipe: ScaffoldedPipeline): void {
  expectAlertLines(pipe);
  expect(queryDb(pipe.dbFile, 'SELECT alert, model_table, model_key FROM corral_alerted ORDER BY model_key')).toEqual(
    ['1', '2', '3'].map((key) => ({ alert: 'MyAlert', model_table: 'Example', model_key: key })),
  );
}

/** expectAlertedOnce on either database. */
export async function expectAlertedOnceIn(pipe: ScaffoldedPipeline, db: PipelineDb): Promise<void> {
  expectAlertLines(pipe);
  expect(await db.query('SELECT alert, model_table, model_key FROM corral_alerted ORDER BY model_key')).toEqual(
    ['1', '2', '3'].map((key) => ({ alert: 'MyAlert', model_table: 'Example', model_key: key })),
  );
}

function expectAlertLines(pipe: ScaffoldedPipeline): void {
  const line = new RegExp(`^\\[${pipe.name}-ALERT @ \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] Check the object '<Example example-(\\d)>'$`);
  const lines = fs.readFileSync(alertFile(pipe), 'utf8').trimEnd().split('\n');
  expect(lines).toHaveLength(3);
  expect(lines.map((text) => line.exec(text)?.[1]).sort()).toEqual(['1', '2', '3']);
}
