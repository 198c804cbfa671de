import { describe, expect, test } from 'vitest';
import { boolean, datetime, integer, string } from '../../src/db/columns.js';
import { model, type ModelInstance } from '../../src/db/model.js';
import { Alert } from '../../src/processors/alert.js';
import { Endpoint, EndpointUnavailable, RowRejected } from '../../src/processors/endpoints/endpoint.js';
import { executeProcessor } from '../../src/run/execute.js';
import { retryFailures } from '../../src/run/status.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { selectRows, useUnitDb, type UnitDb } from '../helpers/unit-db.js';
import { recreateOldAlertedTable } from '../helpers/old-alerted-table.js';

class Event extends model('Event', {
  id: integer().primaryKey(),
  label: string().notNull(),
  interesting: boolean().notNull().default(false),
}) {}

class Pair extends model('Pair', { a: integer().primaryKey(), b: string().primaryKey(), hot: boolean() }) {}

/** An endpoint that keeps what it is sent, and its lifecycle. */
class Collect extends Endpoint {
  readonly sent: string[] = [];
  readonly lifecycle: string[] = [];
  override setup(alert: Alert): void {
    super.setup(alert);
    this.lifecycle.push('setup');
  }
  async process(row: ModelInstance): Promise<void> {
    this.sent.push((await this.render(row)).trim().replace(/@ \S+\]/, '@ T]'));
  }
  override teardown(error?: unknown): void {
    this.lifecycle.push(error ? 'teardown:error' : 'teardown');
    super.teardown(error);
  }
}

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  function run(db: UnitDb, Class: Parameters<typeof executeProcessor>[0]) {
    return executeProcessor(Class, { engine: db.engine, settings: db.settings, logger: db.logger });
  }

  async function withEvents(labels: [string, boolean][], chunkSize = 1000): Promise<UnitDb> {
    const db = await openDb({ models: [Event, Pair], chunkSize });
    await db.engine.knex('Event').insert(labels.map(([label, interesting]) => ({ label, interesting })));
    return db;
  }

  describe('alerts', () => {
    test('when an alert runs twice then each matching row is sent once and the second run sends nothing', async () => {
      const db = await withEvents([['a', true], ['b', false], ['c', true]], 1);
      const endpoint = new Collect();
      class Notify extends Alert<Event> {
        static override model = Event;
        static override conditions = [{ interesting: true }];
        static override alertTo = [endpoint];
      }
      expect(await run(db, Notify)).toMatchObject({ status: 'ok', rows: 2, kind: 'alert' });
      expect(endpoint.sent).toEqual(["[unit-ALERT @ T] Check the object '<Event id=1>'", "[unit-ALERT @ T] Check the object '<Event id=3>'"]);
      expect(endpoint.lifecycle).toEqual(['setup', 'teardown']);

      expect((await run(db, Notify)).rows).toBe(0);
      expect(endpoint.sent).toHaveLength(2);

      await db.engine.knex('Event').insert({ label: 'd', interesting: true });
      await db.engine.knex('Event').where({ id: 2 }).update({ interesting: true });
      expect((await run(db, Notify)).rows).toBe(2);
      expect(endpoint.sent.slice(2)).toEqual(["[unit-ALERT @ T] Check the object '<Event id=2>'", "[unit-ALERT @ T] Check the object '<Event id=4>'"]);
    });

    test('when an alert has run then corral_alerted holds one row per alerted row, and another alert keeps its own memory', async () => {
      const db = await withEvents([['a', true], ['b', true]]);
      class First extends Alert<Event> {
        static override model = Event;
        static override conditions = [];
        static override alertTo = [new Collect()];
      }
      class Second extends Alert<Event> {
        static override model = Event;
        static override conditions = [['label', 'b']];
        static override alertTo = [new Collect()];
      }
      await run(db, First);
      await run(db, Second);
      await run(db, First);
      expect(await selectRows(db, (k) => k('corral_alerted').select('alert', 'model_table', 'model_key').orderBy(['alert', 'model_key']))).toEqual([
        { alert: 'First', model_table: 'Event', model_key: '1' },
        { alert: 'First', model_table: 'Event', model_key: '2' },
        { alert: 'Second', model_table: 'Event', model_key: '2' },
      ]);
      // Stored as the dialect stores datetimes: milliseconds on SQLite, a timestamptz on PostgreSQL.
      const [first] = (await db.engine.knex('corral_alerted').select('created_at').orderBy(['alert', 'model_key']).limit(1)) as { created_at: unknown }[];
      const createdAt = first!.created_at;
      const millis = dialect === 'sqlite' ? (createdAt as number) : (createdAt as Date).getTime();
      if (dialect === 'sqlite') expect(typeof createdAt).toBe('number');
      else expect(createdAt).toBeInstanceOf(Date);
      expect(Math.abs(Date.now() - millis)).toBeLessThan(10 * 60_000);
    });

    test('when an older corral made corral_alerted (a numbered id, a unique index) then the alert records into it and sends each row once', async () => {
      const db = await withEvents([['a', true], ['b', true]], 1);
      await recreateOldAlertedTable(db.engine.knex, dialect);
      const endpoint = new Collect();
      class Old extends Alert<Event> {
        static override model = Event;
        static override conditions = [];
        static override alertTo = [endpoint];
      }
      expect((await run(db, Old)).rows).toBe(2);
      expect((await run(db, Old)).rows).toBe(0);
      expect(endpoint.sent).toHaveLength(2);
      expect(await selectRows(db, (k) => k('corral_alerted').select('id', 'model_key').orderBy('id'))).toEqual([{ id: 1, model_key: '1' }, { id: 2, model_key: '2' }]);
    });

    test('when sending a row changes a later row of the same chunk then that row is judged as it is now', async () => {
      const db = await withEvents([['a', true], ['b', true], ['c', true]]);
      const sent: number[] = [];
      // Sending row 1 makes row 2 uninteresting, through the alert's own transaction.
      class Spoiler extends Endpoint {
        async process(row: ModelInstance): Promise<void> {
          const id = (row as unknown as { id: number }).id;
          sent.push(id);
          if (id === 1) await this.alert.db('Event').where({ id: 2 }).update({ interesting: false });
        }
      }
      class Notify extends Alert<Event> {
        static override model = Event;
        static override conditions = [{ interesting: true }];
        static override alertTo = [new Spoiler()];
      }
      expect((await run(db, Notify)).rows).toBe(2);
      expect(sent).toEqual([1, 3]);
    });

    test('when the model has a composite key then the alert remembers the whole key', async () => {
      const db = await openDb({ models: [Pair] });
      await db.engine.knex('Pair').insert([{ a: 1, b: 'x', hot: true }, { a: 1, b: 'y', hot: true }]);
      const endpoint = new Collect();
      class PairAlert extends Alert {
        static override model = Pair;
        static override conditions = [{ hot: true }];
        static override alertTo = [endpoint];
      }
      expect((await run(db, PairAlert)).rows).toBe(2);
      expect((await run(db, PairAlert)).rows).toBe(0);
      expect(await selectRows(db, (k) => k('corral_alerted').select('model_key').orderBy(['alert', 'model_key']))).toEqual([{ model_key: '1\x1fx' }, { model_key: '1\x1fy' }]);
    });

    test('when an endpoint is unavailable on a row then the alert stops, no row is blamed, and the next run sends the rest', async () => {
      const db = await withEvents([['a', true], ['b', true], ['c', true]], 1);
      let downFrom: number | undefined = 2;
      const sent: number[] = [];
      class Flaky extends Endpoint {
        process(row: ModelInstance) {
          const id = (row as Event).id;
          if (downFrom !== undefined && id >= downFrom) throw new EndpointUnavailable('queue broker down');
          sent.push(id);
        }
      }
      const flaky = new Flaky();
      class Retrying extends Alert<Event> {
        static override model = Event;
        static override conditions = [];
        static override alertTo = [flaky];
      }
      const failed = await run(db, Retrying);
      expect(failed).toMatchObject({ status: 'failed', rows: 1, failedRows: 0 });
      expect(failed.error!.message).toBe('Retrying failed: queue broker down');
      expect(await selectRows(db, (k) => k('corral_alerted').select('model_key'))).toEqual([{ model_key: '1' }]);
      expect(await selectRows(db, (k) => k('corral_failures').select('model_key'))).toEqual([]);
      downFrom = undefined;
      expect(await run(db, Retrying)).toMatchObject({ status: 'ok', rows: 2 });
      expect(sent).toEqual([1, 2, 3]);
    });

    test('when an endpoint throws on a row then that row is recorded as failed, rolled back alone, and the alert goes on', async () => {
      const db = await withEvents([['a', true], ['b', true], ['c', true]], 2);
      const sent: number[] = [];
      class Picky extends Endpoint {
        process(row: ModelInstance) {
          const id = (row as Event).id;
          if (id === 2) throw new Error('cannot plot row 2');
          sent.push(id);
        }
      }
      class Plot extends Alert<Event> {
        static override model = Event;
        static override conditions = [];
        static override alertTo = [new Picky()];
      }
      const stats = await run(db, Plot);
      expect(stats).toMatchObject({ status: 'ok', rows: 2, failedRows: 1 });
      expect(stats.rowFailures).toMatchObject([{ key: 'id=2', message: 'cannot plot row 2', attempts: 1, quarantined: false }]);
      expect(sent).toEqual([1, 3]);
      expect(await selectRows(db, (k) => k('corral_alerted').select('model_key').orderBy(['alert', 'model_key']))).toEqual([{ model_key: '1' }, { model_key: '3' }]);
      expect(await selectRows(db, (k) => k('corral_failures').select('processor', 'model_key'))).toEqual([{ processor: 'Plot', model_key: '2' }]);
      // Backing off (retryDelaySeconds): the next run leaves it out.
      expect(await run(db, Plot)).toMatchObject({ status: 'ok', rows: 0, failedRows: 0 });
    });

    test('when the second endpoint rejects a row the first delivered then the row is retried whole, with the same idempotency key', async () => {
      const db = await withEvents([['a', true]], 1);
      const keys: string[] = [];
      let reject = true;
      class Keyed extends Endpoint {
        process(row: ModelInstance) {
          keys.push(this.idempotencyKey(row));
        }
      }
      class Rejecting extends Endpoint {
        process() {
          if (reject) throw new RowRejected('refused');
        }
      }
      class Both extends Alert<Event> {
        static override model = Event;
        static override conditions = [];
        static override alertTo = [new Keyed(), new Rejecting()];
      }
      expect(await run(db, Both)).toMatchObject({ rows: 0, failedRows: 1 });
      reject = false;
      await retryFailures(db.engine);
      expect(await run(db, Both)).toMatchObject({ status: 'ok', rows: 1, failedRows: 0 });
      expect(keys).toHaveLength(2);
      expect(keys[1]).toBe(keys[0]);
      // Sent at last: the failure is forgotten.
      expect(await selectRows(db, (k) => k('corral_failures').select('model_key'))).toEqual([]);
    });

    test('when an endpoint loses its database connection on a row then the alert stops and no row is blamed', async () => {
      const db = await withEvents([['a', true]], 1);
      class Lost extends Endpoint {
        process() {
          throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
        }
      }
      class Gone extends Alert<Event> {
        static override model = Event;
        static override conditions = [];
        static override alertTo = [new Lost()];
      }
      expect(await run(db, Gone)).toMatchObject({ status: 'failed', failedRows: 0 });
      expect(await selectRows(db, (k) => k('corral_failures').select('model_key'))).toEqual([]);
    });

    test('when an alert overrides renderAlert then endpoints send its text', async () => {
      const db = await withEvents([['hello', true]]);
      const endpoint = new Collect();
      class Custom extends Alert<Event> {
        static override model = Event;
        static override conditions = [];
        static override alertTo = [endpoint];
        override renderAlert(_now: Date, _endpoint: Endpoint, row: Event): string {
          return `event ${row.label}`;
        }
      }
      await run(db, Custom);
      expect(endpoint.sent).toEqual(['event hello']);
    });

    test('when renderAlert is async then endpoints send the awaited text', async () => {
      const db = await withEvents([['late', true]]);
      const endpoint = new Collect();
      class Later extends Alert<Event> {
        static override model = Event;
        static override conditions = [];
        static override alertTo = [endpoint];
        override async renderAlert(_now: Date, _endpoint: Endpoint, row: Event): Promise<string> {
          await new Promise((resolve) => setImmediate(resolve));
          return `later ${row.label}`;
        }
      }
      await run(db, Later);
      expect(endpoint.sent).toEqual(['later late']);
    });
  });

  describe('alert memory keys', () => {
    class Night extends model('Night', { night: datetime().primaryKey(), clear: boolean() }) {}

    // Alerts remember rows by their key as SQL's CAST(key AS TEXT) writes it; a datetime
    // key has no portable text form (SQLite stores milliseconds, PostgreSQL a timestamp),
    // so such models are refused up front rather than alerted twice.
    test('when the primary key is a datetime then the alert is refused with a clear message', async () => {
      const db = await openDb({ models: [Night] });
      const night = new Date(Date.UTC(2020, 0, 1));
      await db.engine.knex('Night').insert([{ night: dialect === 'sqlite' ? night.getTime() : night, clear: true }]);
      const endpoint = new Collect();
      class ClearNight extends Alert {
        static override model = Night;
        static override conditions = [{ clear: true }];
        static override alertTo = [endpoint];
      }
      const stats = await run(db, ClearNight);
      expect(stats.status).toBe('failed');
      expect(stats.error?.message).toMatch(/primary key column 'night' is a datetime/);
      expect(endpoint.sent).toHaveLength(0);
    });
  });
});
