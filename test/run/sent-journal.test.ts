/**
 * The sent journal of alerts on a SQLite file (db/sent-journal.ts, runAlertRows): a
 * journal left by a dead process is replayed before anything is sent, a journal that
 * cannot be written makes each row commit on its own (one warning), and an endpoint
 * failing in the middle of a batch keeps the rows delivered before it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { boolean, integer, string } from '../../src/db/columns.js';
import { createLogger } from '../../src/core/logger.js';
import { model, type ModelInstance } from '../../src/db/model.js';
import { Alert } from '../../src/processors/alert.js';
import { Endpoint, EndpointUnavailable, RowRejected } from '../../src/processors/endpoints/endpoint.js';
import { executeProcessor } from '../../src/run/execute.js';
import { selectRows, useUnitDb, type SqliteUnitDb } from '../helpers/unit-db.js';

class Event extends model('Event', {
  id: integer().primaryKey(),
  label: string().notNull(),
  interesting: boolean().notNull().default(false),
}) {}

/** Keeps the ids it is sent; `failOn` makes it throw on one id. */
class Collect extends Endpoint {
  readonly sent: number[] = [];
  failOn: { id: number; error: () => Error } | undefined;
  process(row: ModelInstance): void {
    const id = (row as unknown as { id: number }).id;
    if (this.failOn?.id === id) throw this.failOn.error();
    this.sent.push(id);
  }
}

const openDb = useUnitDb('sqlite');

async function withEvents(count: number): Promise<SqliteUnitDb> {
  const db = await openDb({ models: [Event], chunkSize: 1000 });
  await db.engine.knex('Event').insert(Array.from({ length: count }, (_, i) => ({ label: `e${i + 1}`, interesting: true })));
  return db;
}

function alertOf(endpoint: Collect): typeof Alert {
  return class Notify extends Alert<Event> {
    static override model = Event;
    static override conditions = [{ interesting: true }];
    static override alertTo = [endpoint];
  } as unknown as typeof Alert;
}

/** The ids corral_alerted holds for Notify, in order. */
async function alertedIds(db: SqliteUnitDb): Promise<number[]> {
  const rows = await selectRows(db, (k) => k('corral_alerted').select('model_key').where({ alert: 'Notify' }));
  return rows.map((r) => Number(r.model_key)).sort((a, b) => a - b);
}

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

const journalLine = (id: number) => JSON.stringify(['Notify', 'Event', String(id)]) + '\n';

describe('the sent journal', () => {
  test('when a dead process left a journal then its complete lines are recorded before anything is sent, and a partial last line is not', async () => {
    const db = await withEvents(6);
    const folder = `${db.file}-corral-sent`;
    fs.mkdirSync(folder);
    // As a process killed in mid-write leaves it: rows 1 and 2 delivered, the line of row 3 cut short.
    const dead = path.join(folder, `${deadPid()}-0badc0de`);
    fs.writeFileSync(dead, journalLine(1) + journalLine(2) + journalLine(3).slice(0, 12));
    // A live process's journal whose batch committed: replaying it changes nothing, and it is left to its owner.
    const live = path.join(folder, `${process.pid}-00c0ffee`);
    fs.writeFileSync(live, journalLine(6));

    const endpoint = new Collect();
    const outcome = await executeProcessor(alertOf(endpoint), { engine: db.engine, settings: db.settings, logger: db.logger });

    expect(outcome).toMatchObject({ status: 'ok', rows: 3 });
    expect(endpoint.sent).toEqual([3, 4, 5]);
    expect(await alertedIds(db)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.readFileSync(live, 'utf8')).toBe(journalLine(6));
    expect(fs.readdirSync(folder)).toEqual([path.basename(live)]);
  });

  test('when the journal folder cannot be made then each row commits on its own, with one warning, and every row is sent once', async () => {
    const db = await withEvents(5);
    fs.writeFileSync(`${db.file}-corral-sent`, 'a file where the folder would go');
    const lines: string[] = [];
    const logger = createLogger({ name: 'unit', level: 'warn', format: 'json', write: (line) => lines.push(line) });

    const endpoint = new Collect();
    const outcome = await executeProcessor(alertOf(endpoint), { engine: db.engine, settings: db.settings, logger });

    expect(outcome).toMatchObject({ status: 'ok', rows: 5 });
    expect(endpoint.sent).toEqual([1, 2, 3, 4, 5]);
    expect(await alertedIds(db)).toEqual([1, 2, 3, 4, 5]);
    const warnings = lines.map((line) => (JSON.parse(line) as { msg: string }).msg).filter((msg) => msg.includes('sent journal'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Notify: the sent journal in .*-corral-sent cannot be written \(.*\); each row now commits on its own/);
  });

  test('when an endpoint is down in the middle of a batch then the rows before it are committed, the journal is emptied, and the next run sends only the rest', async () => {
    const db = await withEvents(6);
    const endpoint = new Collect();
    endpoint.failOn = { id: 4, error: () => new EndpointUnavailable('the channel is down') };
    const Notify = alertOf(endpoint);

    const outcome = await executeProcessor(Notify, { engine: db.engine, settings: db.settings, logger: db.logger });
    expect(outcome.status).not.toBe('ok');
    expect(endpoint.sent).toEqual([1, 2, 3]);
    expect(await alertedIds(db)).toEqual([1, 2, 3]);
    expect(fs.existsSync(`${db.file}-corral-sent`)).toBe(false);

    endpoint.failOn = undefined;
    expect(await executeProcessor(Notify, { engine: db.engine, settings: db.settings, logger: db.logger })).toMatchObject({ status: 'ok', rows: 3 });
    expect(endpoint.sent).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await alertedIds(db)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('when an endpoint rejects a row in the middle of a batch then that row alone is set aside and the others are sent once', async () => {
    const db = await withEvents(6);
    const endpoint = new Collect();
    endpoint.failOn = { id: 3, error: () => new RowRejected('not this one') };

    const outcome = await executeProcessor(alertOf(endpoint), { engine: db.engine, settings: db.settings, logger: db.logger });
    expect(outcome).toMatchObject({ rows: 5, failedRows: 1 });
    expect(endpoint.sent).toEqual([1, 2, 4, 5, 6]);
    expect(await alertedIds(db)).toEqual([1, 2, 4, 5, 6]);
    expect(await selectRows(db, (k) => k('corral_failures').select('model_key').where({ processor: 'Notify' }))).toEqual([{ model_key: '3' }]);
    expect(fs.existsSync(`${db.file}-corral-sent`)).toBe(false);
  });
});
