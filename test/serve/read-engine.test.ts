/**
 * The status page's own connection on PostgreSQL: every read runs under a statement
 * and a lock timeout, so a read that would wait behind a worker's lock is cancelled
 * instead of holding up the page (and whatever queues behind it).
 */
import { expect, test } from 'vitest';
import { parseConnection } from '../../src/conf/connection.js';
import { createLogger } from '../../src/core/logger.js';
import { openReadEngine } from '../../src/serve/read-engine.js';
import { describePg, pgDatabaseForFile, withPgClient } from '../helpers/postgres.js';

const database = pgDatabaseForFile();
const logger = createLogger({ name: 'test', level: 'silent', format: 'json' });

describePg('the read engine', () => {
  test('when it reads then its sessions have a 10 s statement timeout and a 1 s lock timeout, and a read behind a held lock is cancelled', async () => {
    const { url } = await database();
    const engine = await openReadEngine(parseConnection(url, process.cwd()), 300, logger);
    try {
      const [settings] = (await engine.knex.raw("SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock")).rows as { statement: string; lock: string }[];
      expect(settings).toEqual({ statement: '10s', lock: '1s' });
      await engine.knex.raw('CREATE TABLE held (id int)');
      // Another session holds an exclusive lock (as a migration would): the page's read gives up after the lock timeout.
      await withPgClient(async (client) => {
        await client.query('BEGIN');
        await client.query('LOCK TABLE held IN ACCESS EXCLUSIVE MODE');
        try {
          await expect(engine.knex('held').count()).rejects.toThrow(/lock timeout/);
        } finally {
          await client.query('ROLLBACK');
        }
      }, url);
    } finally {
      await engine.destroy();
    }
  });
});
