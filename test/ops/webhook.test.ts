/**
 * The Webhook endpoint against a real HTTP server on loopback: the payload, the
 * retries, and what a server that fails or hangs does to the alert.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { boolean, datetime, integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { Alert } from '../../src/processors/alert.js';
import { Webhook, type WebhookOptions } from '../../src/processors/endpoints/webhook.js';
import { executeProcessor } from '../../src/run/execute.js';
import { useUnitDb, type UnitDb } from '../helpers/unit-db.js';
import { startHttpServer, type HttpTestServer } from './servers.js';

class Event extends model('Event', {
  id: integer().primaryKey(),
  label: string().notNull(),
  interesting: boolean().notNull().default(false),
  at: datetime(),
}) {}

const openDb = useUnitDb();
const servers: HttpTestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function http(): Promise<HttpTestServer> {
  const server = await startHttpServer();
  servers.push(server);
  return server;
}

async function withEvents(labels: string[], extra: Record<string, unknown> = {}): Promise<UnitDb> {
  const db = await openDb({ models: [Event], ...extra });
  await db.engine.knex('Event').insert(labels.map((label) => ({ label, interesting: true, at: new Date('2026-01-02T03:04:05Z') })));
  return db;
}

function alertOf(options: WebhookOptions) {
  return class Hook extends Alert<Event> {
    static override model = Event;
    static override conditions = [{ interesting: true }];
    static override alertTo = [new Webhook({ backoffMs: 10, ...options })];
  };
}

async function run(db: UnitDb, Class: unknown) {
  const logger = createLogger({ name: 'unit', level: 'silent', format: 'json' });
  return executeProcessor(Class as never, { engine: db.engine, settings: db.settings, logger });
}

const labelsPosted = (server: HttpTestServer, status = 200) =>
  server.requests.filter((r) => r.status === status).map((r) => (r.body as { row: { label: string } }).row.label);

describe('Webhook', () => {
  test('when rows are alerted then each is POSTed as JSON with the alert text, the alert name and the row', async () => {
    const server = await http();
    const db = await withEvents(['a', 'b']);
    const stats = await run(db, alertOf({ url: server.url, headers: { Authorization: 'Bearer t0ken' } }));
    expect(stats).toMatchObject({ status: 'ok', rows: 2 });
    expect(server.requests).toHaveLength(2);
    const first = server.requests[0]!;
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers.authorization).toBe('Bearer t0ken');
    expect(first.body).toEqual({
      text: expect.stringMatching(/^\[unit-ALERT @ \S+\] Check the object '<Event id=1>'\n$/),
      alert: 'Hook',
      row: { id: 1, label: 'a', interesting: true, at: '2026-01-02T03:04:05.000Z' },
      idempotencyKey: expect.stringMatching(/^corral-[0-9a-f]{32}$/),
    });
    // The key is also a header, one per row.
    expect(first.headers['idempotency-key']).toBe((first.body as { idempotencyKey: string }).idempotencyKey);
    expect(server.requests[1]!.headers['idempotency-key']).not.toBe(first.headers['idempotency-key']);
  });

  test('when the url is a function of the settings then it is read from them', async () => {
    const server = await http();
    const db = await withEvents(['a'], { hookUrl: server.url });
    expect((await run(db, alertOf({ url: (settings) => String(settings.hookUrl) }))).status).toBe('ok');
    expect(server.requests).toHaveLength(1);
  });

  test('when the server answers 500 twice and then recovers then the retries deliver every row in the same run', async () => {
    const server = await http();
    const db = await withEvents(['a', 'b']);
    server.script([{ status: 500 }, { status: 503 }]);
    const stats = await run(db, alertOf({ url: server.url, retries: 2 }));
    expect(stats).toMatchObject({ status: 'ok', rows: 2 });
    expect(server.requests.map((r) => r.status)).toEqual([500, 503, 200, 200]);
    expect(labelsPosted(server)).toEqual(['a', 'b']);
  });

  test('when the server keeps failing then the run fails naming host, port and reason, and the next run sends only the rows not delivered', async () => {
    const server = await http();
    const db = await withEvents(['a', 'b', 'c']);
    const Hook = alertOf({ url: server.url, retries: 1 });
    server.script([{ status: 200 }], { status: 500, body: 'database is down' });
    const failed = await run(db, Hook);
    expect(failed).toMatchObject({ status: 'failed', rows: 1 });
    expect(failed.error!.message).toBe(
      `Hook failed: Webhook endpoint could not deliver to 127.0.0.1:${server.port}: HTTP 500 Internal Server Error: database is down (after 2 attempts)`,
    );
    // The secret part of the URL is never shown.
    expect(failed.error!.message).not.toContain('secret-token');
    expect(await db.engine.knex('corral_alerted').orderByRaw('length(model_key), model_key').pluck('model_key')).toEqual(['1']);
    // The server's failure, not the row's.
    expect(await db.engine.knex('corral_failures').count({ n: '*' })).toEqual([{ n: 0 }]);

    server.script([], { status: 200 });
    expect(await run(db, Hook)).toMatchObject({ status: 'ok', rows: 2 });
    expect(labelsPosted(server)).toEqual(['a', 'b', 'c']);
  });

  test('when the server answers 404 (no such hook) then there is no retry, the alert stops and no row is blamed', async () => {
    const server = await http();
    const db = await withEvents(['a', 'b']);
    server.script([], { status: 404, body: 'no such hook' });
    const failed = await run(db, alertOf({ url: server.url, retries: 3 }));
    expect(failed).toMatchObject({ status: 'failed', rows: 0, failedRows: 0 });
    expect(failed.error!.message).toMatch(/^Hook failed: Webhook endpoint could not deliver to 127\.0\.0\.1:\d+: HTTP 404 Not Found: no such hook$/);
    expect(server.requests).toHaveLength(1);
    expect(await db.engine.knex('corral_failures').count({ n: '*' })).toEqual([{ n: 0 }]);
  });

  test('when the server answers 400 for one row then that row is recorded as failed, without retry, and the others are sent', async () => {
    const server = await http();
    const db = await withEvents(['a', 'bad', 'c']);
    server.route((body) => ((body as { row: { label: string } }).row.label === 'bad' ? { status: 400, body: 'invalid_payload' } : undefined));
    const stats = await run(db, alertOf({ url: server.url, retries: 3 }));
    expect(stats).toMatchObject({ status: 'ok', rows: 2, failedRows: 1 });
    expect(stats.rowFailures[0]).toMatchObject({
      key: 'id=2',
      attempts: 1,
      quarantined: false,
      message: `Webhook endpoint at 127.0.0.1:${server.port} rejected the row: HTTP 400 Bad Request: invalid_payload`,
    });
    expect(labelsPosted(server)).toEqual(['a', 'c']);
    expect(labelsPosted(server, 400)).toEqual(['bad']);
    expect(await db.engine.knex('corral_alerted').orderByRaw('length(model_key), model_key').pluck('model_key')).toEqual(['1', '3']);
    expect(await db.engine.knex('corral_failures').pluck('model_key')).toEqual(['2']);
  });

  test('when an answer comes after the timeout then the retry carries the same key, in the header and the body', async () => {
    const server = await http();
    const db = await withEvents(['a', 'b']);
    // Each row's first attempt is answered only once its retry has arrived.
    const seen = new Set<string>();
    server.route((_body, headers) => {
      const key = String(headers['idempotency-key']);
      if (seen.has(key)) return { status: 200 };
      seen.add(key);
      return 'late';
    });
    const stats = await run(db, alertOf({ url: server.url, retries: 1, timeoutMs: 300 }));
    expect(stats).toMatchObject({ status: 'ok', rows: 2 });
    const keys = server.requests.map((r) => r.headers['idempotency-key']);
    expect(server.requests.map((r) => r.status)).toEqual(['late', 200, 'late', 200]);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[2]).toBe(keys[3]);
    expect(keys[0]).not.toBe(keys[2]);
    expect(server.requests.map((r) => (r.body as { idempotencyKey: string }).idempotencyKey)).toEqual(keys);
  });

  test('when the server does not answer in time then each attempt times out and the run says so', async () => {
    const server = await http();
    const db = await withEvents(['a']);
    server.script([], 'hang');
    const failed = await run(db, alertOf({ url: server.url, retries: 1, timeoutMs: 200 }));
    expect(failed.error!.message).toMatch(/could not deliver to 127\.0\.0\.1:\d+: no answer within 200 ms \(after 2 attempts\)$/);
    expect(server.requests).toHaveLength(2);
  });

  test('when nothing listens then the reason is the refused connection', async () => {
    const server = await http();
    const db = await withEvents(['a']);
    const { url, port } = server;
    await server.close();
    servers.splice(0);
    const failed = await run(db, alertOf({ url, retries: 0 }));
    expect(failed.error!.message).toBe(`Hook failed: Webhook endpoint could not deliver to 127.0.0.1:${port}: connection refused (ECONNREFUSED)`);
  });

  test('when the url is not http(s) then the alert fails at set-up, before any row', async () => {
    const db = await withEvents(['a']);
    const failed = await run(db, alertOf({ url: 'ftp://example.org/x' }));
    expect(failed).toMatchObject({ status: 'failed', rows: 0 });
    expect(failed.error!.message).toMatch(/must be http or https, not ftp:/);
  });
});
