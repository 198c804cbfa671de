import path from 'node:path';
import { describe, expect, onTestFinished, test, vi } from 'vitest';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { DBError } from '../../src/core/errors.js';
import { boolean, datetime, float, integer, json, string } from '../../src/db/columns.js';
import { currentContext } from '../../src/db/context.js';
import { Engine } from '../../src/db/engine.js';
import { ROW_STATE, model, type ModelInstance } from '../../src/db/model.js';
import { describePg, forEachDatabase, pgDatabaseForFile } from '../helpers/postgres.js';
import { makeTempDir, removeDir } from '../helpers/temp-dir.js';
import { selectRows, useUnitDb, type UnitDb } from '../helpers/unit-db.js';

class Star extends model('Star', {
  id: integer().primaryKey(),
  name: string(50).notNull(),
  mag: float(),
  variable: boolean().notNull().default(false),
  seen: datetime(),
  meta: json(),
}) {}

class Name extends model('Name', { id: integer().primaryKey(), name: string().notNull() }) {}
class Flower extends model('Flower', {
  id: integer().primaryKey(),
  petals: integer().notNull(),
  name_id: integer().references('Name'),
}) {}

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  /** Every row of a table, booleans as true/false whatever the database. */
  function rowsOf(db: UnitDb, table: string, columns: string[], booleans: string[] = []) {
    return selectRows(db, (k) => k(table).select(columns).orderBy('id'), booleans);
  }

  describe('Transaction.save', () => {
    test('when a new instance is saved then it is inserted and gets its id and defaults back', async () => {
      const db = await openDb({ models: [Star] });
      const { engine } = db;
      const star = new Star({ name: 'Vega', mag: 0.03 });
      const wrote = await engine.inTransaction((tx) => tx.save(star));
      expect(wrote).toBe(true);
      expect(star.id).toBe(1);
      expect(star.variable).toBe(false);
      expect(star.seen).toBeNull();
      expect(star[ROW_STATE]).toMatchObject({ persisted: true });
      expect(await rowsOf(db, 'Star', ['id', 'name', 'mag', 'variable', 'seen', 'meta'], ['variable'])).toEqual([
        { id: 1, name: 'Vega', mag: 0.03, variable: false, seen: null, meta: null },
      ]);
    });

    test('when a saved instance is saved again unchanged then nothing is written', async () => {
      const { engine } = await openDb({ models: [Star] });
      const star = new Star({ name: 'Deneb' });
      await engine.inTransaction((tx) => tx.save(star));
      expect(await engine.inTransaction((tx) => tx.save(star))).toBe(false);
    });

    test('when one column of a saved row changes then only that column is updated', async () => {
      const db = await openDb({ models: [Star] });
      const { engine } = db;
      const star = new Star({ name: 'Altair', mag: 0.77 });
      await engine.inTransaction((tx) => tx.save(star));
      // Another writer changes `mag` behind this instance's back: an update of `name` alone must keep it.
      await engine.knex('Star').where({ id: star.id }).update({ mag: 9.9 });
      star.name = 'Altair A';
      expect(await engine.inTransaction((tx) => tx.save(star))).toBe(true);
      expect(await rowsOf(db, 'Star', ['name', 'mag'])).toEqual([{ name: 'Altair A', mag: 9.9 }]);
    });

    test('when a hydrated row is changed and saved then the update targets its primary key', async () => {
      const db = await openDb({ models: [Star] });
      const { engine } = db;
      await engine.inTransaction(async (tx) => {
        await tx.save(new Star({ name: 'a' }));
        await tx.save(new Star({ name: 'b' }));
      });
      const [first] = await engine.inTransaction(async (tx) => {
        const { hydrate } = await import('../../src/db/model.js');
        const raw = (await tx.db('Star').where({ name: 'b' })) as Record<string, unknown>[];
        return raw.map((r) => hydrate(Star, r) as Star);
      });
      first!.variable = true;
      await engine.inTransaction((tx) => tx.save(first!));
      expect(await rowsOf(db, 'Star', ['name', 'variable'], ['variable'])).toEqual([
        { name: 'a', variable: false },
        { name: 'b', variable: true },
      ]);
    });

    test('when a transaction throws then its writes are rolled back', async () => {
      const db = await openDb({ models: [Star] });
      const { engine } = db;
      await expect(
        engine.inTransaction(async (tx) => {
          await tx.save(new Star({ name: 'lost' }));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await rowsOf(db, 'Star', ['id'])).toEqual([]);
      expect(() => currentContext()).toThrow('No database is open here');
    });

    test('when a row is deleted then it is gone and saving it again writes nothing', async () => {
      const db = await openDb({ models: [Star] });
      const { engine } = db;
      const star = new Star({ name: 'gone' });
      await engine.inTransaction((tx) => tx.save(star));
      await engine.inTransaction((tx) => tx.delete(star));
      expect(await engine.inTransaction((tx) => tx.save(star))).toBe(false);
      expect(await rowsOf(db, 'Star', ['id'])).toEqual([]);
    });
  });

  describe('value round trips', () => {
    test('when booleans, dates, JSON and nulls are saved then reading the row back gives the same values', async () => {
      const { engine } = await openDb({ models: [Star] });
      const seen = new Date('2021-06-01T12:34:56.789Z');
      const values = [
        { name: 'full', mag: -1.5, variable: true, seen, meta: { bands: ['g', 'r'], n: 2, ok: true, nested: { x: null } } },
        { name: 'empty', mag: null, variable: false, seen: null, meta: null },
        { name: 'scalar-json', mag: 0, variable: false, seen: new Date(0), meta: [1, 'two', null] },
      ];
      await engine.inTransaction(async (tx) => {
        for (const v of values) await tx.save(new Star(v));
      });
      const read = await engine.inTransaction(async (tx) => {
        const { hydrate } = await import('../../src/db/model.js');
        const raw = (await tx.db('Star').orderBy('id')) as Record<string, unknown>[];
        return raw.map((r) => (hydrate(Star, r) as ModelInstance).toJSON());
      });
      expect(read).toEqual(values.map((v, i) => ({ id: i + 1, ...v })));
      expect(read[0]!.seen).toBeInstanceOf(Date);
    });
  });

  describe('related and relatedMany', () => {
    test('when a row follows its foreign key then related() returns the referenced row and relatedMany() the referencing ones', async () => {
      const { engine } = await openDb({ models: [Name, Flower] });
      await engine.inTransaction(async (tx) => {
        const rose = new Name({ name: 'rose' });
        const lily = new Name({ name: 'lily' });
        await tx.save(rose);
        await tx.save(lily);
        await tx.save(new Flower({ petals: 5, name_id: rose.id }));
        await tx.save(new Flower({ petals: 6, name_id: lily.id }));
        await tx.save(new Flower({ petals: 7, name_id: rose.id }));
        await tx.save(new Flower({ petals: 0, name_id: null }));
      });
      await engine.inTransaction(async (tx) => {
        const { hydrate } = await import('../../src/db/model.js');
        const flowers = ((await tx.db('Flower').orderBy('id')) as Record<string, unknown>[]).map((r) => hydrate(Flower, r) as Flower);
        const name = await flowers[1]!.related(Name);
        expect(name).toBeInstanceOf(Name);
        expect(name?.name).toBe('lily');
        expect(await flowers[3]!.related(Name)).toBeNull();
        const rose = (await flowers[0]!.related(Name))!;
        const roses = await rose.relatedMany(Flower);
        expect(roses.map((f) => f.petals)).toEqual([5, 7]);
      });
    });

    test('when there is no foreign key between two models then related() names both', async () => {
      const { engine } = await openDb({ models: [Name, Flower, Star] });
      await engine.inTransaction(async () => {
        const flower = new Flower({ petals: 1 });
        await expect(flower.related(Star)).rejects.toThrow(/Flower has no foreign key to Star/);
      });
    });
  });
});

describe('Engine.open', () => {
  test('when the SQLite folder does not exist then a DBError names the database and knex prints nothing', async () => {
    const printed = vi.spyOn(console, 'log');
    const label = 'sqlite:/nonexistent-corral-dir/x/db.sqlite';
    const opening = Engine.open({ knex: { client: 'better-sqlite3', connection: { filename: '/nonexistent-corral-dir/x/db.sqlite' }, useNullAsDefault: true }, label });
    await expect(opening).rejects.toThrow(DBError);
    await expect(opening).rejects.toThrow(/Cannot connect to the database \(sqlite:\/nonexistent-corral-dir/);
    expect(printed).not.toHaveBeenCalled();
    printed.mockRestore();
  });

  test('when the PostgreSQL server does not answer then a DBError names the database and says to check the server', async () => {
    const printed = vi.spyOn(console, 'log');
    const label = 'postgres://nobody@127.0.0.1:1/x';
    const opening = Engine.open({ knex: { client: 'pg', connection: label }, label });
    await expect(opening).rejects.toThrow(DBError);
    await expect(opening).rejects.toThrow(/^Cannot connect to the database \(postgres:\/\/nobody@127\.0\.0\.1:1\/x\): .*ECONNREFUSED/);
    await opening.catch((error: DBError) => expect(error.hint).toMatch(/Check that the server is running/));
    expect(printed).not.toHaveBeenCalled();
    printed.mockRestore();
  });
});

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  test('when the database is opened then the engine holds the store of its database, and only PostgreSQL has sessions to end', async () => {
    const { engine } = await openDb({ models: [Star] });
    expect(engine.dialect).toBe(dialect);
    expect(engine.store.dialect).toBe(dialect);
    expect(engine.session === undefined).toBe(dialect === 'sqlite');
    expect(engine.sqlite === undefined).toBe(dialect === 'postgres');
  });
});

describePg('the sessions of an engine on PostgreSQL', () => {
  const database = pgDatabaseForFile();

  test('when an engine opens sessions then each carries its name and the keepalive of the lease, and no idle-in-transaction timeout ends a slow worker', async () => {
    const { url } = await database();
    const engine = await Engine.open({ knex: { client: 'pg', connection: url }, label: 'worker', leaseSeconds: 12 });
    const tx = await engine.begin();
    try {
      const settings = async (db: typeof tx.db) =>
        (
          (await db.raw(
            `SELECT current_setting('application_name') AS name, current_setting('idle_in_transaction_session_timeout') AS idle,
                    current_setting('tcp_keepalives_idle') AS ka_idle, current_setting('tcp_keepalives_interval') AS ka_interval,
                    current_setting('tcp_keepalives_count') AS ka_count, current_setting('tcp_user_timeout') AS user_timeout`,
          )) as { rows: Record<string, string>[] }
        ).rows[0];
      // A transaction's session and a bookkeeping one alike (two pool connections).
      for (const seen of [await settings(tx.db), await settings(engine.knex)]) {
        expect(seen).toEqual({ name: engine.session!.name, idle: '0', ka_idle: '6', ka_interval: '2', ka_count: '3', user_timeout: '12000' });
      }
      expect(engine.session!.name).toMatch(/^corral:[\w.-]+:\d+:[0-9a-f]{8}$/);
      expect(Buffer.byteLength(engine.session!.name)).toBeLessThanOrEqual(63);
    } finally {
      await tx.rollback();
      await engine.destroy();
    }
  });
});

describe("knex's own messages", () => {
  /** The knex Logger of an engine on a temporary SQLite file: where knex says what it has to say. */
  async function openWith(logger: Logger | undefined): Promise<{ engine: Engine; knexLogger: Record<'warn' | 'error' | 'debug', (message: unknown) => void> }> {
    const dir = makeTempDir('corral-engine-log-');
    const engine = await Engine.open({ knex: { client: 'better-sqlite3', connection: { filename: path.join(dir, 'log.db') }, useNullAsDefault: true }, label: 'log.db', logger });
    onTestFinished(async () => {
      await engine.destroy();
      removeDir(dir);
    });
    return { engine, knexLogger: (engine.knex.client as unknown as { logger: Record<'warn' | 'error' | 'debug', (message: unknown) => void> }).logger };
  }

  test("when knex warns, errs or debugs then corral's logger gets it at the level it deserves, as one line", async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: 'test', level: 'debug', format: 'json', write: (line) => void lines.push(line) });
    const { knexLogger } = await openWith(logger);
    knexLogger.warn('Connection Error: Error: Connection terminated unexpectedly');
    knexLogger.warn('Acquire connection error: timeout');
    knexLogger.warn('A transaction was rolled back without a reason');
    knexLogger.error(new Error('pool is destroyed'));
    knexLogger.debug({ sql: 'select 1', bindings: [] });
    knexLogger.debug('plain text');
    logger.flush();
    const records = lines.map((line) => JSON.parse(line) as { level: number; source: string; msg: string });
    expect(records.map((r) => [r.level, r.source, r.msg])).toEqual([
      [30, 'knex', 'Connection Error: Error: Connection terminated unexpectedly'],
      [20, 'knex', 'Acquire connection error: timeout'],
      [40, 'knex', 'A transaction was rolled back without a reason'],
      [50, 'knex', 'pool is destroyed'],
      [20, 'knex', '{"sql":"select 1","bindings":[]}'],
      [20, 'knex', 'plain text'],
    ]);
  });

  test('when there is no logger then warnings and errors go to stderr, and debug and info lines nowhere', async () => {
    const warned: string[] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation((text: unknown) => void warned.push(String(text)));
    onTestFinished(() => spy.mockRestore());
    const { knexLogger } = await openWith(undefined);
    knexLogger.warn('Connection Error: gone');
    knexLogger.warn('something odd');
    knexLogger.error('broken');
    knexLogger.debug('chatter');
    expect(warned).toEqual(['something odd', 'broken']);
  });

  test('when knex says an API is deprecated then the warning reads as knex wrote it, once', async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: 'test', level: 'debug', format: 'json', write: (line) => void lines.push(line) });
    const { knexLogger } = await openWith(logger);
    (knexLogger as unknown as { deprecate: (method: string, alternative: string) => void }).deprecate('json(true)', 'jsonb()');
    logger.flush();
    const records = lines.map((line) => JSON.parse(line) as { level: number; source: string; msg: string });
    expect(records.map((r) => [r.level, r.source, r.msg])).toEqual([[40, 'knex', 'json(true) is deprecated, please use jsonb()']]);
  });
});
