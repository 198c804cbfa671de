/**
 * What `runs` lists (db/bookkeeping/run-list.ts): the runs of `corral_runs` and the ones
 * waiting beside a SQLite file, filtered by processor, outcome and start, newest first;
 * and how `--since` and `--status` are read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { CommandError } from '../../../src/core/errors.js';
import { Run } from '../../../src/db/bookkeeping/models.js';
import { listRuns, outcomeOf, parseOutcomes, parseSince } from '../../../src/db/bookkeeping/run-list.js';
import { spoolOf, type UnrecordedRun } from '../../../src/db/bookkeeping/unrecorded.js';
import { integer } from '../../../src/db/columns.js';
import type { Engine } from '../../../src/db/engine.js';
import { model } from '../../../src/db/model.js';
import { toDb } from '../../../src/db/values.js';
import { forEachDatabase } from '../../helpers/postgres.js';
import { useUnitDb } from '../../helpers/unit-db.js';

const Thing = model('Thing', { id: integer().primaryKey() });

describe('reading the options', () => {
  const now = new Date('2026-12-06T12:00:00Z');

  test('when --since is a time ago, a date, or a time without a zone then it is that moment, UTC unless a zone is named', () => {
    expect(parseSince('90s', now).toISOString()).toBe('2026-12-06T11:58:30.000Z');
    expect(parseSince('1.5h', now).toISOString()).toBe('2026-12-06T10:30:00.000Z');
    expect(parseSince('2026-12-01', now).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(parseSince('2026-12-01 10:00', now).toISOString()).toBe('2026-12-01T10:00:00.000Z');
    expect(parseSince('2026-12-01T10:00+02:00', now).toISOString()).toBe('2026-12-01T08:00:00.000Z');
  });

  test('when --since is neither, or a date that does not exist, then the error gives examples', () => {
    for (const text of ['yesterday', '2026-13-45']) {
      expect(() => parseSince(text, now)).toThrow(CommandError);
      expect(() => parseSince(text, now)).toThrow(`--since takes a time ago or a date, got '${text}'`);
    }
  });

  test('when --status names an unknown outcome then the error lists the known ones', () => {
    expect(parseOutcomes(['ok', 'dead'])).toEqual(['ok', 'dead']);
    expect(() => parseOutcomes(['ok', 'fine'])).toThrow("Unknown run status 'fine'");
  });

  test('when a stored status is not one corral lists then the run counts as failed', () => {
    expect(outcomeOf('exploded', 0)).toBe('failed');
    expect(outcomeOf('ok', 2)).toBe('rows-failed');
    expect(outcomeOf('stopped', 0)).toBe('stopped');
  });
});

/** A row of corral_runs, `minutes` after 10:00 on 2026-12-06; ended a minute later unless still running. */
async function insertRun(engine: Engine, processor: string, minutes: number, status: string, change: Record<string, unknown> = {}): Promise<void> {
  const time = (m: number) => toDb(Run.columns.started_at.spec, new Date(Date.UTC(2026, 11, 6, 10, m)), engine.dialect);
  await engine.knex(Run.table).insert({
    processor,
    kind: 'step',
    host: 'h',
    pid: 1,
    started_at: time(minutes),
    heartbeat_at: time(minutes),
    ended_at: status === 'running' ? null : time(minutes + 1),
    rows_done: 5,
    rows_failed: 0,
    status,
    ...change,
  });
}

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  test('when runs are filtered by processor, outcome and start then only those are listed, newest first', async () => {
    const { engine } = await openDb({ models: [Thing] });
    await insertRun(engine, 'Clean', 0, 'ok');
    await insertRun(engine, 'Clean', 1, 'ok', { rows_failed: 2 });
    await insertRun(engine, 'Fetch', 2, 'failed', { error: 'boom', partition: '1/2' });
    await insertRun(engine, 'Clean', 3, 'running');
    const all = await listRuns(engine);
    expect(all.map((r) => [r.processor, r.outcome])).toEqual([['Clean', 'running'], ['Fetch', 'failed'], ['Clean', 'rows-failed'], ['Clean', 'ok']]);
    const [running, failed] = all;
    expect(running).toMatchObject({ endedAt: null, error: null, partition: null });
    expect(running!.seconds).toBeGreaterThan(0);
    expect(failed).toMatchObject({ endedAt: '2026-12-06T10:03:00.000Z', error: 'boom', partition: '1/2', seconds: 60, rows: 5 });
    expect((await listRuns(engine, { outcomes: ['ok'] })).map((r) => r.startedAt)).toEqual(['2026-12-06T10:00:00.000Z']);
    expect((await listRuns(engine, { outcomes: ['rows-failed', 'failed'] })).map((r) => r.processor)).toEqual(['Fetch', 'Clean']);
    expect((await listRuns(engine, { processors: ['Clean'], since: new Date(Date.UTC(2026, 11, 6, 10, 1)) })).map((r) => r.outcome)).toEqual(['running', 'rows-failed']);
    expect((await listRuns(engine, { limit: 1 })).map((r) => r.outcome)).toEqual(['running']);
  });
});

describe('runs waiting beside a SQLite file', () => {
  const openDb = useUnitDb('sqlite');

  /** A run recorded in the spool folder, as a run that could not get the write lock leaves it. */
  function spool(engine: Engine, name: string, run: Partial<UnrecordedRun> & { processor: string; startedAt: string }): void {
    const dir = spoolOf(engine)!;
    fs.mkdirSync(dir, { recursive: true });
    const full: UnrecordedRun = { kind: 'step', host: 'h', pid: 2, partition: null, endedAt: run.startedAt, status: 'not-started', rowsDone: 0, rowsFailed: 0, error: 'busy', ...run };
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(full));
  }

  test('when runs wait beside the file then they are listed among the recorded ones by start, filtered the same way', async () => {
    const { engine } = await openDb({ models: [Thing] });
    await insertRun(engine, 'Clean', 0, 'ok');
    await insertRun(engine, 'Clean', 2, 'ok');
    spool(engine, 'a', { processor: 'Clean', startedAt: '2026-12-06T10:01:00.000Z' });
    spool(engine, 'b', { processor: 'Fetch', startedAt: '2026-12-06T10:02:00.000Z', endedAt: '2026-12-06T10:02:30.000Z' });
    const all = await listRuns(engine);
    // At the same start, the waiting run (no id yet: it will be written after every recorded one) comes first.
    expect(all.map((r) => [r.processor, r.id === null ? 'waiting' : 'recorded', r.startedAt.slice(11, 16)])).toEqual([
      ['Fetch', 'waiting', '10:02'],
      ['Clean', 'recorded', '10:02'],
      ['Clean', 'waiting', '10:01'],
      ['Clean', 'recorded', '10:00'],
    ]);
    expect(all[0]).toMatchObject({ outcome: 'not-started', seconds: 30, error: 'busy', endedAt: '2026-12-06T10:02:30.000Z' });
    expect((await listRuns(engine, { processors: ['Fetch'] })).map((r) => r.processor)).toEqual(['Fetch']);
    expect((await listRuns(engine, { outcomes: ['ok'] })).every((r) => r.id !== null)).toBe(true);
    expect((await listRuns(engine, { since: new Date('2026-12-06T10:01:30Z') })).map((r) => r.startedAt.slice(11, 16))).toEqual(['10:02', '10:02']);
    expect((await listRuns(engine, { limit: 2 })).map((r) => r.processor)).toEqual(['Fetch', 'Clean']);
  });

  test('when two waiting runs started together then both are listed', async () => {
    const { engine } = await openDb({ models: [Thing] });
    spool(engine, 'a', { processor: 'A', startedAt: '2026-12-06T10:01:00.000Z' });
    spool(engine, 'b', { processor: 'B', startedAt: '2026-12-06T10:01:00.000Z' });
    expect((await listRuns(engine)).map((r) => r.processor).sort()).toEqual(['A', 'B']);
  });
});
