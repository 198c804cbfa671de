/**
 * The Email and Webhook endpoints in a scaffolded pipeline, run by `check-alerts`
 * against an SMTP and an HTTP server of this test on loopback, on SQLite and on
 * PostgreSQL: what arrives, and what a server that is down does to the run and to
 * the next one.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { pipelineOnDatabase } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { tempDirForFile } from '../helpers/temp-dir.js';
import { startHttpServer, startSmtpServer, type HttpTestServer, type SmtpTestServer } from '../ops/servers.js';

const tempDir = tempDirForFile('corral-e2e-endpoints-');
const PASSWORD = 'e2e-smtp-secret';
let scaffold: Promise<ScaffoldedPipeline> | undefined;

/** The scaffold with the alert sent to a file, by e-mail and to a webhook (whose URL is a setting). */
async function endpointScaffold(): Promise<ScaffoldedPipeline> {
  const pipe = await createPipeline(tempDir(), 'endpipe');
  pipe.edit('alerts.ts', "import { Alert, File } from 'corral';", "import { Alert, Email, File, Webhook } from 'corral';");
  pipe.edit(
    'alerts.ts',
    "static override alertTo = [new File('my_alert.log')];",
    "static override alertTo = [new File('my_alert.log'), new Email({ to: ['night@example.org'] }), new Webhook({ url: (s) => String(s.hookUrl), retries: 1, backoffMs: 10 })];",
  );
  return pipe;
}

forEachDatabase((dialect) => {
  let smtp: SmtpTestServer;
  let hook: HttpTestServer;
  const on = pipelineOnDatabase(dialect, async () => copyPipeline(await (scaffold ??= endpointScaffold()), tempDir(), `endpipe-${dialect}`));

  beforeAll(async () => {
    smtp = await startSmtpServer({ user: 'alerts@example.org', password: PASSWORD });
    hook = await startHttpServer();
    on.pipe.edit(
      'settings.ts',
      '  exampleRows: 3,\n',
      `  exampleRows: 3,\n  hookUrl: '${hook.url}',\n  email: { host: '127.0.0.1', port: ${smtp.port}, user: 'alerts@example.org', password: process.env.SMTP_PASSWORD },\n`,
    );
    expectExit(await on.pipe.cli(['createdb', '--noinput']), 0);
    expectExit(await on.pipe.cli(['load']), 0);
    expectExit(await on.pipe.cli(['run']), 0);
  });

  afterAll(async () => {
    await smtp?.close();
    await hook?.close();
  });

  const alerted = async () => (await on.db.query<{ model_key: string }>('SELECT model_key FROM corral_alerted ORDER BY length(model_key), model_key')).map((r) => r.model_key);

  test('when the webhook fails on the second row then check-alerts fails with one line naming it, and the next run sends only the rest', async () => {
    hook.script([{ status: 200 }], { status: 500, body: 'busy' });
    const failed = await on.pipe.cli(['check-alerts'], { SMTP_PASSWORD: PASSWORD });
    expect(failed.code).not.toBe(0);
    const reason = `Webhook endpoint could not deliver to 127.0.0.1:${hook.port}: HTTP 500 Internal Server Error: busy (after 2 attempts)`;
    expect(failed.stderr).toContain(`Error: MyAlert failed: ${reason}`);
    // The endpoint's failure: no row is blamed.
    expect(await on.db.count('true', 'corral_failures')).toBe(0);
    expect(failed.stderr).not.toContain(PASSWORD);
    expect(failed.stderr).not.toContain('secret-token');
    expect(await alerted()).toEqual(['1']);

    hook.script([], { status: 200 });
    const again = await on.pipe.cli(['check-alerts'], { SMTP_PASSWORD: PASSWORD });
    expectExit(again, 0);
    expect(await alerted()).toEqual(['1', '2', '3']);
    // The e-mail of row 2 went out twice (before the webhook failed on it, and again):
    // an alert is delivered at least once to every endpoint, exactly once to those that
    // did not fail. Rows 1 and 3 reached every endpoint once. Both copies of row 2
    // carry the same Message-ID, so a mail store can drop the second.
    const mailed = smtp.mails.map((m) => /<Example example-(\d)>/.exec(m.body)?.[1]);
    expect(mailed).toEqual(['1', '2', '2', '3']);
    expect(smtp.mails[2]!.headers['message-id']).toBe(smtp.mails[1]!.headers['message-id']);
    expect(smtp.mails[3]!.headers['message-id']).not.toBe(smtp.mails[1]!.headers['message-id']);
    const posted = hook.requests.filter((r) => r.status === 200).map((r) => (r.body as { row: { id: number } }).row.id);
    expect(posted).toEqual([1, 2, 3]);
    expect(smtp.mails[0]).toMatchObject({ mailFrom: 'alerts@example.org', rcptTo: ['night@example.org'], user: 'alerts@example.org' });
    expect(smtp.mails[0]!.headers.subject).toBe('[ALERT - endpipe] MyAlert');
  });

  test('when the SMTP server is down then check-alerts fails naming the server, and nothing is recorded as alerted', async () => {
    // Three more rows to alert (the scaffold's loader adds its rows once only).
    await on.db.insertExamples(3, 4);
    expectExit(await on.pipe.cli(['run']), 0);
    const port = smtp.port;
    await smtp.close();
    const failed = await on.pipe.cli(['check-alerts', '--sync'], { SMTP_PASSWORD: PASSWORD });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(new RegExp(`MyAlert failed: Email endpoint could not deliver to SMTP server 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    expect(failed.stderr).not.toContain(PASSWORD);
    expect(await alerted()).toEqual(['1', '2', '3']);
  });
});
