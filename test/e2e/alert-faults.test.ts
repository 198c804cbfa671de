/**
 * Issue 11, points 6 and 7, from the command line on SQLite and on PostgreSQL: an
 * alert isolates a row whose rendering throws or that a webhook rejects (it goes to
 * corral_failures, is retried, quarantined, and sent once fixed), while an endpoint
 * that is down stops the alert without blaming any row; every delivery carries a
 * stable idempotency key (Webhook: Idempotency-Key header and body; Email: Message-ID).
 *
 * One pipeline per database with one alert per case, each run alone with `-a`; the
 * webhook alerts post to one HTTP server of the test, which answers by alert and row.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { configureSettings, pipelineOnDatabase, summaryRows } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase } from '../helpers/postgres.js';
import type { CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';
import { startHttpServer, startSmtpServer, type HttpTestServer, type SmtpTestServer } from '../ops/servers.js';

const tempDir = tempDirForFile('corral-e2e-alert-faults-');
let scaffold: Promise<ScaffoldedPipeline> | undefined;

const ALERTS = `import { Alert, Email, File, Webhook, type Endpoint } from 'corral';
import { Example } from './models.js';

export { MyAlert } from './my-alert.js';

/** One line per row; row 50 cannot be rendered (until the code is fixed). */
export class RenderAlert extends Alert<Example> {
  static override model = Example;
  static override conditions = [{ processed: true }];
  static override alertTo = [new File('render.log')];

  override renderAlert(_now: Date, _endpoint: Endpoint, row: Example): string {
    if (row.id === 50) throw new Error(\`cannot render row \${row.id}\`);
    return \`sent \${row.id}\\n\`;
  }
}

export class HookAlert extends Alert<Example> {
  static override model = Example;
  static override conditions = [{ processed: true }, ['id', '<=', 5]];
  static override alertTo = [new Webhook({ url: (s) => String(s.hookUrl), retries: 1, backoffMs: 10 })];
}

export class DownAlert extends Alert<Example> {
  static override model = Example;
  static override conditions = [{ processed: true }, ['id', '<=', 5]];
  static override alertTo = [new Webhook({ url: (s) => String(s.downUrl), retries: 1, backoffMs: 10 })];
}

export class LateAlert extends Alert<Example> {
  static override model = Example;
  static override conditions = [{ processed: true }, ['id', '<=', 3]];
  static override alertTo = [new Webhook({ url: (s) => String(s.hookUrl), retries: 1, backoffMs: 10, timeoutMs: 500 })];
}

export class MailAlert extends Alert<Example> {
  static override model = Example;
  static override conditions = [{ processed: true }, ['id', '<=', 2]];
  static override alertTo = [new Email({ to: ['night@example.org'] })];
}
`;

/** The scaffold with the alerts above (the scaffold's MyAlert moved to my-alert.ts). */
async function faultScaffold(): Promise<ScaffoldedPipeline> {
  const pipe = await createPipeline(tempDir(), 'faultpipe');
  fs.renameSync(pipe.file('alerts.ts'), pipe.file('my-alert.ts'));
  fs.writeFileSync(pipe.file('alerts.ts'), ALERTS);
  pipe.edit('settings.ts', "import { MyAlert } from './alerts.js';", "import { DownAlert, HookAlert, LateAlert, MailAlert, MyAlert, RenderAlert } from './alerts.js';");
  pipe.edit('settings.ts', 'alerts: [MyAlert],', 'alerts: [MyAlert, RenderAlert, HookAlert, DownAlert, LateAlert, MailAlert],');
  configureSettings(pipe, { maxAttempts: 2, retryDelaySeconds: 0, logLevel: 'warn' });
  return pipe;
}

/** The key Endpoint.idempotencyKey documents: `corral-` + 32 hex digits of SHA-256(pipeline, alert, table, key). */
function expectedKey(alert: string, id: number): string {
  return `corral-${createHash('sha256').update(['faultpipe', alert, 'Example', String(id)].join('\x1f')).digest('hex').slice(0, 32)}`;
}

function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.startsWith('Error:'));
}

interface Posted {
  alert: string;
  row: { id: number };
  idempotencyKey: string;
}

forEachDatabase((dialect) => {
  let hook: HttpTestServer;
  let smtp: SmtpTestServer;
  const on = pipelineOnDatabase(dialect, async () => copyPipeline(await (scaffold ??= faultScaffold()), tempDir(), `faultpipe-${dialect}`));
  const truth = dialect === 'postgres' ? 'true' : '1';

  beforeAll(async () => {
    hook = await startHttpServer();
    smtp = await startSmtpServer();
    on.pipe.edit(
      'settings.ts',
      '  exampleRows: 3,\n',
      `  exampleRows: 3,\n  hookUrl: '${hook.url}',\n  downUrl: '${hook.url}',\n  email: { host: '127.0.0.1', port: ${smtp.port}, from: 'pipeline@example.org' },\n`,
    );
    expectExit(await on.pipe.cli(['createdb', '--noinput']), 0);
    await on.db.insertExamples(100);
    await on.db.exec(`UPDATE "Example" SET processed = ${truth}`);
  });

  afterAll(async () => {
    await hook?.close();
    await smtp?.close();
  });

  const posted = (alert: string, status: number) =>
    hook.requests.filter((r) => (r.body as Posted).alert === alert && r.status === status).map((r) => (r.body as Posted).row.id);
  const alerted = async (alert: string) =>
    (await on.db.query<{ model_key: string }>('SELECT model_key FROM corral_alerted WHERE alert = ? ORDER BY length(model_key), model_key', [alert])).map((r) => Number(r.model_key));
  const failuresOf = async (alert: string) =>
    on.db.query<{ model_key: string; attempts: number | string; quarantined: unknown }>('SELECT model_key, attempts, quarantined FROM corral_failures WHERE processor = ?', [alert]);
  const renderLog = () => path.join(on.pipe.root, 'render.log');
  const renderedIds = () =>
    fs
      .readFileSync(renderLog(), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => Number(/^sent (\d+)$/.exec(line)![1]));

  test('when renderAlert throws for row 50 of 100 then the other 99 are sent, row 50 is retried, quarantined, and sent once fixed and retried', async () => {
    const first = await on.pipe.cli(['check-alerts', '-a', 'RenderAlert']);
    expectExit(first, 1);
    expect(summaryRows(first.stderr).RenderAlert).toEqual({ status: 'ROWS FAILED', rows: 99, failed: 1 });
    expect(errorLines(first)).toEqual(['Error: RenderAlert failed on row id=50: cannot render row 50 (attempt 1; retried on a later run)']);
    // One warning as the row fails, as steps log it.
    expect(first.stderr.match(/Row id=50 failed \(attempt 1 of 2, retried after \S+\): cannot render row 50/g)).toHaveLength(1);
    const all = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(renderedIds()).toEqual(all.filter((id) => id !== 50));
    expect(await failuresOf('RenderAlert')).toEqual([{ model_key: '50', attempts: 1, quarantined: dialect === 'postgres' ? false : 0 }]);

    // The next run tries row 50 alone (no backoff here), and quarantines it at its 2nd attempt.
    const second = await on.pipe.cli(['check-alerts', '-a', 'RenderAlert']);
    expectExit(second, 1);
    expect(summaryRows(second.stderr).RenderAlert).toEqual({ status: 'ROWS FAILED', rows: 0, failed: 1 });
    expect(errorLines(second)).toEqual(['Error: RenderAlert failed on row id=50: cannot render row 50 (attempt 2; quarantined: see `failures`)']);

    const listed = await on.pipe.cli(['failures', '--json', '-p', 'RenderAlert']);
    expectExit(listed, 0);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ processor: 'RenderAlert', table: 'Example', key: '50', attempts: 2, quarantined: true, error: 'cannot render row 50' }]);
    const status = await on.pipe.cli(['status', '--json']);
    expectExit(status, 0);
    // The quarantined row is no backlog: the alert has nothing left to do.
    expect((JSON.parse(status.stdout) as { processor: string }[]).find((s) => s.processor === 'RenderAlert')).toMatchObject({ backlog: 0, retrying: 0, quarantined: 1 });

    on.pipe.edit('alerts.ts', 'if (row.id === 50) throw', 'if (row.id === -1) throw');
    const retried = await on.pipe.cli(['failures', '--retry', '-p', 'RenderAlert']);
    expectExit(retried, 0);
    expect(retried.stdout).toBe('1 failed row(s) will be retried on the next run\n');
    const fixed = await on.pipe.cli(['check-alerts', '-a', 'RenderAlert']);
    expectExit(fixed, 0);
    expect(summaryRows(fixed.stderr).RenderAlert).toEqual({ status: 'ok', rows: 1, failed: 0 });
    expect(renderedIds()).toEqual([...all.filter((id) => id !== 50), 50]);
    expect(await failuresOf('RenderAlert')).toEqual([]);
    expect((await alerted('RenderAlert')).sort((a, b) => a - b)).toEqual(all);
  });

  test('when the webhook answers 400 for one row then that row is recorded as failed and the others are sent', async () => {
    hook.route((body) => {
      const { alert, row } = body as Posted;
      if (alert === 'HookAlert' && row.id === 2) return { status: 400, body: 'invalid_payload' };
      return undefined;
    });
    const result = await on.pipe.cli(['check-alerts', '-a', 'HookAlert']);
    hook.route(undefined);
    expectExit(result, 1);
    expect(summaryRows(result.stderr).HookAlert).toEqual({ status: 'ROWS FAILED', rows: 4, failed: 1 });
    expect(errorLines(result)).toEqual([
      `Error: HookAlert failed on row id=2: Webhook endpoint at 127.0.0.1:${hook.port} rejected the row: HTTP 400 Bad Request: invalid_payload (attempt 1; retried on a later run)`,
    ]);
    expect(result.stderr).not.toContain('secret-token');
    // A 400 is not retried: the row was posted once.
    expect(posted('HookAlert', 400)).toEqual([2]);
    expect(posted('HookAlert', 200)).toEqual([1, 3, 4, 5]);
    expect(await alerted('HookAlert')).toEqual([1, 3, 4, 5]);
    expect(await failuresOf('HookAlert')).toMatchObject([{ model_key: '2', attempts: 1 }]);
  });

  test('when the webhook answers 503 or refuses connections then the alert stops naming it, no row is blamed, and the next run sends the rest, each row once', async () => {
    // Rows 1 and 2 get through, then the server is in maintenance.
    hook.route((body) => {
      const { alert, row } = body as Posted;
      if (alert === 'DownAlert' && row.id > 2) return { status: 503, body: 'maintenance' };
      return undefined;
    });
    const unavailable = await on.pipe.cli(['check-alerts', '-a', 'DownAlert']);
    hook.route(undefined);
    expectExit(unavailable, 1);
    expect(summaryRows(unavailable.stderr).DownAlert).toEqual({ status: 'FAILED', rows: 2, failed: 0 });
    expect(errorLines(unavailable)).toEqual([
      `Error: DownAlert failed: Webhook endpoint could not deliver to 127.0.0.1:${hook.port}: HTTP 503 Service Unavailable: maintenance (after 2 attempts)`,
    ]);
    expect(unavailable.stderr).toContain('No row is blamed');
    expect(await failuresOf('DownAlert')).toEqual([]);
    expect(await alerted('DownAlert')).toEqual([1, 2]);

    // Nothing listens on the hook's port any more.
    const gone = await startHttpServer();
    const closedPort = gone.port;
    await gone.close();
    on.pipe.edit('settings.ts', /downUrl: '[^']*'/, `downUrl: 'http://127.0.0.1:${closedPort}/hooks/secret-token'`);
    const refused = await on.pipe.cli(['check-alerts', '-a', 'DownAlert']);
    expectExit(refused, 1);
    expect(errorLines(refused)).toEqual([
      `Error: DownAlert failed: Webhook endpoint could not deliver to 127.0.0.1:${closedPort}: connection refused (ECONNREFUSED) (after 2 attempts)`,
    ]);
    expect(refused.stderr).not.toContain('secret-token');
    expect(await failuresOf('DownAlert')).toEqual([]);
    expect(await alerted('DownAlert')).toEqual([1, 2]);

    on.pipe.edit('settings.ts', /downUrl: '[^']*'/, `downUrl: '${hook.url}'`);
    const back = await on.pipe.cli(['check-alerts', '-a', 'DownAlert']);
    expectExit(back, 0);
    expect(summaryRows(back.stderr).DownAlert).toEqual({ status: 'ok', rows: 3, failed: 0 });
    expect(posted('DownAlert', 200)).toEqual([1, 2, 3, 4, 5]);
    expect(await alerted('DownAlert')).toEqual([1, 2, 3, 4, 5]);
    expect(await failuresOf('DownAlert')).toEqual([]);
  });

  test('when the webhook answers after the timeout then every attempt of a row carries the same key, in the header and the body, and rows have different keys', async () => {
    // Each row's first attempt is held until its retry arrives: the server took the
    // row, but answered after the client had given up.
    const seen = new Set<string>();
    hook.route((body, headers) => {
      if ((body as Posted).alert !== 'LateAlert') return undefined;
      const key = String(headers['idempotency-key']);
      if (seen.has(key)) return { status: 200 };
      seen.add(key);
      return 'late';
    });
    const result = await on.pipe.cli(['check-alerts', '-a', 'LateAlert']);
    hook.route(undefined);
    expectExit(result, 0);
    const requests = hook.requests.filter((r) => (r.body as Posted).alert === 'LateAlert');
    expect(requests.map((r) => [(r.body as Posted).row.id, r.status])).toEqual([
      [1, 'late'],
      [1, 200],
      [2, 'late'],
      [2, 200],
      [3, 'late'],
      [3, 200],
    ]);
    const keys = requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual([1, 1, 2, 2, 3, 3].map((id) => expectedKey('LateAlert', id)));
    expect(requests.map((r) => (r.body as Posted).idempotencyKey)).toEqual(keys);
    // Another alert sending the same row has a key of its own.
    expect(hook.requests.find((r) => (r.body as Posted).alert === 'HookAlert' && (r.body as Posted).row.id === 1)!.headers['idempotency-key']).toBe(
      expectedKey('HookAlert', 1),
    );
  });

  test('when a row is e-mailed again then its Message-ID is the same, and other rows have their own', async () => {
    expectExit(await on.pipe.cli(['check-alerts', '-a', 'MailAlert']), 0);
    await on.db.exec(`DELETE FROM corral_alerted WHERE alert = 'MailAlert' AND model_key = '1'`);
    const again = await on.pipe.cli(['check-alerts', '-a', 'MailAlert']);
    expectExit(again, 0);
    expect(summaryRows(again.stderr).MailAlert).toEqual({ status: 'ok', rows: 1, failed: 0 });
    const ids = smtp.mails.map((m) => [/<Example r(\d+)>/.exec(m.body)![1], m.headers['message-id']]);
    expect(ids).toEqual([
      ['1', `<${expectedKey('MailAlert', 1)}@faultpipe.corral>`],
      ['2', `<${expectedKey('MailAlert', 2)}@faultpipe.corral>`],
      ['1', `<${expectedKey('MailAlert', 1)}@faultpipe.corral>`],
    ]);
  });
});
