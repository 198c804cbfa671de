/**
 * The Email endpoint against a real SMTP server on loopback (smtp-server): what is
 * sent, when it connects, and what happens when the server refuses or is gone.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { boolean, integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { Alert } from '../../src/processors/alert.js';
import { Email } from '../../src/processors/endpoints/email.js';
import { executeProcessor } from '../../src/run/execute.js';
import { useUnitDb, type UnitDb } from '../helpers/unit-db.js';
import { startSmtpServer, type SmtpTestServer } from './servers.js';

class Event extends model('Event', { id: integer().primaryKey(), label: string().notNull(), interesting: boolean().notNull().default(false) }) {}

const PASSWORD = 'pa55-w0rd-never-logged';
const openDb = useUnitDb();
const servers: SmtpTestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function smtp(auth = true): Promise<SmtpTestServer> {
  const server = await startSmtpServer(auth ? { user: 'pipeline', password: PASSWORD } : undefined);
  servers.push(server);
  return server;
}

/** A database with these events, and settings pointing the Email endpoint at `server`. */
async function withEvents(server: SmtpTestServer, events: [string, boolean][], email: Record<string, unknown> = {}): Promise<UnitDb> {
  const db = await openDb({ models: [Event], email: { host: '127.0.0.1', port: server.port, user: 'pipeline', password: PASSWORD, ...email } });
  if (events.length) await db.engine.knex('Event').insert(events.map(([label, interesting]) => ({ label, interesting })));
  return db;
}

/** Runs the alert with a trace-level logger whose every line is kept. */
async function run(db: UnitDb, Class: unknown) {
  const lines: string[] = [];
  const logger = createLogger({ name: 'unit', level: 'trace', format: 'json', write: (line) => void lines.push(line) });
  const stats = await executeProcessor(Class as never, { engine: db.engine, settings: db.settings, logger });
  return { stats, log: lines.join('') };
}

function alertOf(endpoint: Email) {
  return class Notify extends Alert<Event> {
    static override model = Event;
    static override conditions = [{ interesting: true }];
    static override alertTo = [endpoint];
  };
}

async function alertedKeys(db: UnitDb): Promise<string[]> {
  return (await db.engine.knex('corral_alerted').orderByRaw('length(model_key), model_key').pluck('model_key')) as string[];
}

describe('Email', () => {
  test('when rows are alerted then each is one message with the recipients, the default subject and the alert text as body', async () => {
    const server = await smtp();
    const db = await withEvents(server, [['a', true], ['b', false], ['c', true]]);
    const { stats, log } = await run(db, alertOf(new Email({ to: ['astro@example.org', 'night@example.org'] })));
    expect(stats).toMatchObject({ status: 'ok', rows: 2 });
    expect(server.mails).toHaveLength(2);
    for (const [i, mail] of server.mails.entries()) {
      expect(mail.rcptTo).toEqual(['astro@example.org', 'night@example.org']);
      expect(mail.headers.to).toBe('astro@example.org, night@example.org');
      expect(mail.headers.subject).toBe('[ALERT - unit] Notify');
      // user has no '@': the sender is user@host, as in the original.
      expect(mail.mailFrom).toBe('pipeline@127.0.0.1');
      expect(mail.user).toBe('pipeline');
      expect(mail.body.trim()).toMatch(new RegExp(`^\\[unit-ALERT @ \\S+\\] Check the object '<Event id=${i === 0 ? 1 : 3}>'$`));
    }
    expect(server.logins).toEqual([{ username: 'pipeline', password: PASSWORD }]);
    // One connection for the whole run.
    expect(server.connections()).toBe(1);
    expect(log).not.toContain(PASSWORD);
  });

  test('when nothing is to be alerted then the endpoint never connects to the server', async () => {
    const server = await smtp();
    const db = await withEvents(server, [['quiet', false]]);
    const { stats } = await run(db, alertOf(new Email({ to: 'astro@example.org' })));
    expect(stats).toMatchObject({ status: 'ok', rows: 0 });
    expect(server.connections()).toBe(0);
    expect(server.mails).toEqual([]);
  });

  test('when from, subject and message are given then they are used, {} standing for the row', async () => {
    const server = await smtp(false);
    const db = await withEvents(server, [['x', true]], { user: undefined, password: undefined, from: 'settings@example.org' });
    const email = new Email({
      to: 'astro@example.org',
      from: 'pipeline@example.org',
      subject: (row) => `Event ${(row as Event).label}`,
      message: 'Look at {} tonight',
    });
    expect((await run(db, alertOf(email))).stats.status).toBe('ok');
    expect(server.mails).toHaveLength(1);
    expect(server.mails[0]).toMatchObject({ mailFrom: 'pipeline@example.org', user: undefined });
    expect(server.mails[0]!.headers.subject).toBe('Event x');
    expect(server.mails[0]!.body.trim()).toBe('Look at <Event id=1> tonight');
  });

  test('when the settings give a sender then it is used; a user that is an address comes next', async () => {
    const server = await smtp(false);
    const db = await withEvents(server, [['x', true]], { user: undefined, password: undefined, from: 'settings@example.org' });
    await run(db, alertOf(new Email({ to: 'astro@example.org' })));
    expect(server.mails[0]!.mailFrom).toBe('settings@example.org');
  });

  test('when the server refuses after two messages then the run fails naming the server, and the next run sends only the rest', async () => {
    const server = await smtp();
    const db = await withEvents(server, [['a', true], ['b', true], ['c', true], ['d', true]]);
    const Notify = alertOf(new Email({ to: 'astro@example.org' }));
    server.acceptOnly(2);
    const first = await run(db, Notify);
    expect(first.stats).toMatchObject({ status: 'failed', rows: 2 });
    expect(first.stats.error!.message).toMatch(
      new RegExp(`^Notify failed: Email endpoint could not deliver to SMTP server 127\\.0\\.0\\.1:${server.port}: .*451 Mailbox busy, try later`),
    );
    expect(first.stats.error!.hint).toMatch(/No row is blamed: .* sent on the next run/);
    expect(await db.engine.knex('corral_failures').count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await alertedKeys(db)).toEqual(['1', '2']);
    expect(first.log).not.toContain(PASSWORD);

    server.acceptOnly(undefined);
    const second = await run(db, Notify);
    expect(second.stats).toMatchObject({ status: 'ok', rows: 2 });
    expect(await alertedKeys(db)).toEqual(['1', '2', '3', '4']);
    // Each row reached the server exactly once.
    const bodies = server.mails.map((m) => /<Event id=(\d)>/.exec(m.body)![1]);
    expect(bodies).toEqual(['1', '2', '3', '4']);
  });

  test('when rows are mailed then each message has a Message-ID of its row, the same when the row is sent again', async () => {
    const server = await smtp();
    const db = await withEvents(server, [['a', true], ['b', true]]);
    const Notify = alertOf(new Email({ to: 'astro@example.org' }));
    await run(db, Notify);
    await db.engine.knex('corral_alerted').where({ model_key: '1' }).delete();
    expect((await run(db, Notify)).stats).toMatchObject({ status: 'ok', rows: 1 });
    const ids = server.mails.map((m) => m.headers['message-id']);
    expect(ids[0]).toMatch(/^<corral-[0-9a-f]{32}@unit\.corral>$/);
    expect(ids[2]).toBe(ids[0]);
    expect(ids[1]).not.toBe(ids[0]);
  });

  test('when the server refuses one message for good (554) then that row is recorded as failed and the others are sent', async () => {
    const server = await smtp();
    const db = await withEvents(server, [['a', true], ['b', true], ['c', true]]);
    server.rejectWhen((raw) => raw.includes('<Event id=2>'));
    const { stats } = await run(db, alertOf(new Email({ to: 'astro@example.org' })));
    expect(stats).toMatchObject({ status: 'ok', rows: 2, failedRows: 1 });
    expect(stats.rowFailures[0]!.key).toBe('id=2');
    expect(stats.rowFailures[0]!.message).toMatch(/^Email endpoint at SMTP server 127\.0\.0\.1:\d+ rejected the row: .*554 Message rejected as spam/);
    expect(server.mails.map((m) => /<Event id=(\d)>/.exec(m.body)![1])).toEqual(['1', '3']);
    expect(await db.engine.knex('corral_failures').pluck('model_key')).toEqual(['2']);
  });

  test('when a fixed recipient is refused for good (550) then it is a setting to fix, not the row: the alert stops', async () => {
    const server = await smtp();
    const db = await withEvents(server, [['a', true]]);
    const { stats } = await run(db, alertOf(new Email({ to: 'nobody@unknown.invalid' })));
    expect(stats).toMatchObject({ status: 'failed', failedRows: 0 });
    expect(stats.error!.message).toMatch(/Email endpoint could not deliver to SMTP server .*nobody@unknown\.invalid/);
    expect(await db.engine.knex('corral_failures').count({ n: '*' })).toEqual([{ n: 0 }]);
  });

  test('when recipients computed per row are refused for good (550) then that row is recorded as failed and the others are sent', async () => {
    const server = await smtp();
    const db = await withEvents(server, [['a', true], ['lost', true], ['c', true]]);
    class PerRow extends Email {
      override getRecipients(row: Event): readonly string[] {
        return [row.label === 'lost' ? 'lost@unknown.invalid' : `${row.label}@example.org`];
      }
    }
    const { stats } = await run(db, alertOf(new PerRow({ to: 'astro@example.org' })));
    expect(stats).toMatchObject({ status: 'ok', rows: 2, failedRows: 1 });
    expect(stats.rowFailures[0]!.key).toBe('id=2');
    expect(server.mails.map((m) => m.rcptTo[0])).toEqual(['a@example.org', 'c@example.org']);
  });

  test('when the server is down then the run fails with the host, the port and the reason, and nothing is recorded', async () => {
    const server = await smtp();
    const db = await withEvents(server, [['a', true]]);
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const { stats, log } = await run(db, alertOf(new Email({ to: 'astro@example.org' })));
    expect(stats.status).toBe('failed');
    expect(stats.error!.message).toMatch(new RegExp(`^Notify failed: Email endpoint could not deliver to SMTP server 127\\.0\\.0\\.1:${server.port}: .*ECONNREFUSED`));
    expect(await alertedKeys(db)).toEqual([]);
    expect(log).not.toContain(PASSWORD);
    expect(stats.error!.message).not.toContain(PASSWORD);
  });

  test('when the password is wrong then the run fails on the login and the password is in neither the error nor the log', async () => {
    const server = await smtp();
    const db = await withEvents(server, [['a', true]], { password: 'wrong-' + PASSWORD });
    const { stats, log } = await run(db, alertOf(new Email({ to: 'astro@example.org' })));
    expect(stats.status).toBe('failed');
    expect(stats.error!.message).toMatch(/could not deliver to SMTP server 127\.0\.0\.1:\d+: Invalid login/);
    expect(log).not.toContain(PASSWORD);
    expect(stats.error!.message).not.toContain(PASSWORD);
    expect(server.mails).toEqual([]);
  });

  test('when settings.email has no host then the alert fails before anything is sent, saying which setting', async () => {
    const server = await smtp();
    const db = await withEvents(server, [['a', true]], { host: undefined });
    const { stats } = await run(db, alertOf(new Email({ to: 'astro@example.org' })));
    expect(stats.status).toBe('failed');
    expect(stats.error!.message).toContain('settings.email.host is not set');
  });

  test('when neither the endpoint nor the settings give a sender then the alert fails at set-up, saying what to set', async () => {
    const server = await smtp(false);
    const db = await withEvents(server, [['a', true]], { user: undefined, password: undefined });
    const { stats } = await run(db, alertOf(new Email({ to: 'astro@example.org' })));
    expect(stats).toMatchObject({ status: 'failed', rows: 0 });
    expect(stats.error!.message).toContain('there is no sender address');
    expect(stats.error!.hint).toContain('email.from');
    expect(server.connections()).toBe(0);
  });

  test('when recipients are missing or not addresses then the endpoint refuses to be built', () => {
    expect(() => new Email({ to: [] })).toThrow(/recipients/);
    expect(() => new Email({ to: ['nobody'] })).toThrow(/recipients/);
  });
});
