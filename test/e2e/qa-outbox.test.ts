/**
 * Alerts in tests do not reach the world: a scaffolded pipeline whose alert sends by
 * e-mail and to a webhook, both pointed at real servers of this test on loopback.
 * `node in_corral.js test` runs a TestCase of the alert that asserts on
 * `this.outbox`; the servers receive nothing. A TestCase with `static realDelivery =
 * true` sends for real. On SQLite and on PostgreSQL (`testConnection`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { setTestConnection } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase, pgDatabaseForFile } from '../helpers/postgres.js';
import { describeResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';
import { startHttpServer, startSmtpServer, type HttpTestServer, type SmtpTestServer } from '../ops/servers.js';

const tempDir = tempDirForFile('corral-e2e-outbox-');
let scaffold: Promise<ScaffoldedPipeline> | undefined;

/** The scaffold with MyAlert sent to a file, by e-mail and to a webhook whose URL is a setting. */
async function outboxScaffold(): Promise<ScaffoldedPipeline> {
  const pipe = await createPipeline(tempDir(), 'outpipe');
  pipe.edit('alerts.ts', "import { Alert, File } from 'corral';", "import { Alert, Email, File, Webhook } from 'corral';");
  pipe.edit(
    'alerts.ts',
    "static override alertTo = [new File('my_alert.log')];",
    "static override alertTo = [new File('my_alert.log'), new Email({ to: ['night@example.org'] }), new Webhook({ url: (s) => String(s.hookUrl), headers: { 'X-Team': 'night' }, retries: 0 })];",
  );
  return pipe;
}

/** A TestCase of MyAlert over one processed and one pending row; `body` is its validate(). */
function alertCase(name: string, extra: string, body: string): string {
  return `
export class ${name} extends TestCase {
  static override subject = MyAlert;${extra}

  override async setup() {
    await this.save(new Example({ name: 'done', value: 1, processed: true }));
    await this.save(new Example({ name: 'pending', value: 2 }));
  }

  validate() {
${body}
  }
}
`;
}

const OUTBOX_CASE = alertCase(
  'MyAlertOutboxTest',
  '',
  `    this.assertEqual(this.outbox.map((d) => d.endpoint), ['Email', 'Webhook']);
    const [mail, hook] = this.outbox;
    if (mail?.endpoint !== 'Email' || hook?.endpoint !== 'Webhook') throw new Error('an e-mail, then a webhook');
    this.assertEqual(mail.alert, 'MyAlert');
    this.assertEqual(mail.rowKey, '1');
    this.assertTrue(/^corral-[0-9a-f]{32}$/.test(mail.idempotencyKey), mail.idempotencyKey);
    this.assertEqual(mail.to, ['night@example.org']);
    this.assertEqual(mail.from, 'pipeline@example.org');
    this.assertEqual(mail.subject, '[ALERT - outpipe] MyAlert');
    this.assertTrue(mail.text.includes("Check the object '<Example done>'"), mail.text);
    this.assertEqual(mail.messageId, '<' + mail.idempotencyKey + '@outpipe.corral>');
    this.assertEqual(hook.rowKey, '1');
    this.assertEqual(hook.idempotencyKey, mail.idempotencyKey);
    this.assertEqual(hook.host, '127.0.0.1:' + String(this.settings.hookPort));
    this.assertEqual(hook.headers, { 'content-type': 'application/json', 'x-team': 'night', 'idempotency-key': mail.idempotencyKey });
    const body = hook.body as { alert: string; row: { name: string }; idempotencyKey: string; text: string };
    this.assertEqual([body.alert, body.row.name, body.idempotencyKey], ['MyAlert', 'done', mail.idempotencyKey]);
    this.assertTrue(body.text.includes("Check the object '<Example done>'"), body.text);`,
);

/** Without an SMTP host in the settings: the outbox needs none. */
const NO_HOST_CASE = `
export class MyAlertWithoutSmtpHostTest extends TestCase {
  static override subject = MyAlert;

  override async setup() {
    this.patchSettings({ email: { from: 'pipeline@example.org' } });
    await this.save(new Example({ name: 'done', value: 1, processed: true }));
  }

  validate() {
    this.assertEqual(this.outbox.map((d) => [d.endpoint, d.rowKey]), [['Email', '1'], ['Webhook', '1']]);
  }
}
`;

const REAL_CASE = alertCase('MyAlertRealDeliveryTest', '\n  static override realDelivery = true;', '    this.assertEqual(this.outbox.length, 0);');

forEachDatabase((dialect) => {
  let smtp: SmtpTestServer;
  let hook: HttpTestServer;
  let pipe: ScaffoldedPipeline;
  const testDatabase = pgDatabaseForFile();

  beforeAll(async () => {
    smtp = await startSmtpServer();
    hook = await startHttpServer();
    pipe = copyPipeline(await (scaffold ??= outboxScaffold()), path.join(tempDir(), dialect));
    pipe.edit(
      'settings.ts',
      '  exampleRows: 3,\n',
      `  exampleRows: 3,\n  hookUrl: '${hook.url}',\n  hookPort: ${hook.port},\n  email: { host: '127.0.0.1', port: ${smtp.port}, from: 'pipeline@example.org' },\n`,
    );
    if (dialect === 'postgres') setTestConnection(pipe, (await testDatabase()).url);
  });

  afterAll(async () => {
    await smtp?.close();
    await hook?.close();
  });

  test('when a TestCase runs an alert with Email and Webhook endpoints then its outbox holds both deliveries (no SMTP host needed) and no server receives anything', async () => {
    fs.appendFileSync(pipe.file('tests.ts'), OUTBOX_CASE + NO_HOST_CASE);
    const result = await pipe.cli(['test', '-v']);
    expectExit(result, 0);
    expect(result.stdout, describeResult(result)).toMatch(/MyAlertOutboxTest/);
    expect(result.stdout).toMatch(/MyAlertWithoutSmtpHostTest/);
    expect(result.stdout).toMatch(/Tests +(\d+) passed \(\1\)/);
    expect(smtp.connections()).toBe(0);
    expect(smtp.mails).toEqual([]);
    expect(hook.requests).toEqual([]);
  });

  test('when a TestCase sets static realDelivery = true then the SMTP and HTTP servers receive its row, and its outbox stays empty', async () => {
    fs.appendFileSync(pipe.file('tests.ts'), REAL_CASE);
    const result = await pipe.cli(['test', '-v']);
    expectExit(result, 0);
    expect(result.stdout, describeResult(result)).toMatch(/MyAlertRealDeliveryTest/);
    // Only the opted-in test reached the servers: one e-mail and one POST, for row 'done'.
    expect(smtp.mails.map((m) => [m.mailFrom, m.rcptTo, m.headers.subject])).toEqual([['pipeline@example.org', ['night@example.org'], '[ALERT - outpipe] MyAlert']]);
    expect(smtp.mails[0]!.body).toContain("Check the object '<Example done>'");
    expect(hook.requests.map((r) => [(r.body as { row: { name: string } }).row.name, r.headers['x-team']])).toEqual([['done', 'night']]);
    expect(smtp.mails[0]!.headers['message-id']).toBe(`<${String(hook.requests[0]!.headers['idempotency-key'])}@outpipe.corral>`);
  });
});
