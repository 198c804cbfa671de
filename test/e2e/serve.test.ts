/**
 * Issue 13 point 1: `serve` on a scaffolded pipeline, on SQLite and PostgreSQL. The
 * page is opened in headless Chromium while `run` works in another process: the
 * backlog, the running worker (held at a start barrier the test releases), the
 * failing row with its stack, the lineage node's colour and the run history change
 * on the page. Retry and clear go through the page with --allow-actions, and are
 * refused (403) without it, without the page's token, and from another origin.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { addStartBarrier, barrierEnv } from '../helpers/barrier.js';
import { describeBrowser, launchBrowser } from '../helpers/browser.js';
import { configureSettings, usePipelineDb, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/postgres.js';
import { startCli, type RunningCli } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-serve-');
let scaffold: ScaffoldedPipeline | undefined;
let browser: Browser;
const servers: RunningCli[] = [];

/** The fill of the lineage's tones (docs/lineage.ts TONE_COLOURS). */
const WAITING = '#fbeec2';
const FAILING = '#f8d3ce';
const RUNNING = '#cfe2f8';

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.kill('SIGTERM');
    await server.result;
  }
});

async function scaffoldOnce(): Promise<ScaffoldedPipeline> {
  if (!scaffold) {
    scaffold = await createPipeline(tempDir(), 'servepipe');
    configureSettings(scaffold, { chunkSize: 10, retryDelaySeconds: 3600, maxAttempts: 3, logLevel: 'warn', exampleRows: 0 });
    scaffold.edit('steps.ts', '    row.doubled = row.value * 2;', '    if (row.id === 13) throw new Error(`poison row ${row.id}`);\n    row.doubled = row.value * 2;');
    addStartBarrier(scaffold, 'steps.ts', 'MyStep');
  }
  return scaffold;
}

/** Starts `serve` with `args` and returns its URL once it listens. */
async function startServe(pipe: ScaffoldedPipeline, args: readonly string[] = []): Promise<{ server: RunningCli; url: string }> {
  const server = startCli(['in_corral.js', 'serve', '--port', '0', '--interval', '0.3', ...args], { cwd: pipe.root });
  servers.push(server);
  await eventually(() => server.stderr()).toMatch(/Serving the status page of servepipe at http:\/\/127\.0\.0\.1:\d+\//);
  return { server, url: /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(server.stderr())![1]! };
}

/** Waits for what the page shows (it redraws on each snapshot): up to a minute on a loaded machine, not vitest's 1 s. */
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 60_000, interval: 100 });

const field = (page: Page, processor: string, name: string) => page.locator(`#processors tr[data-processor="${processor}"] [data-field="${name}"]`);
const lineageNode = (page: Page, id: string) => page.locator(`#lineage svg g#${id}`);
const fillOf = async (page: Page, id: string) => (await lineageNode(page, id).locator('path, polygon').first().getAttribute('fill'))?.toLowerCase();

/** A POST to the page's server from outside a browser, with the headers given. */
function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describeBrowser('serve', () => {
  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
  });

  forEachDatabase((dialect) => {
    let pipe: ScaffoldedPipeline;
    let db: PipelineDb;
    let database: TestDatabase | undefined;

    beforeAll(async () => {
      pipe = copyPipeline(await scaffoldOnce(), tempDir(), `servepipe-${dialect}`);
      if (dialect === 'postgres') database = await createTestDatabase();
      db = usePipelineDb(pipe, dialect, database);
      expectExit(await pipe.cli(['createdb', '--noinput']), 0);
      await db.insertExamples(40);
    });

    afterAll(async () => {
      await db?.close();
      await database?.drop();
    });

    test('when the pipeline runs in another process then the page shows the backlog, the running worker, the failing row and the runs change', async () => {
      const { server, url } = await startServe(pipe);
      const page = await browser.newPage();
      try {
        await page.goto(url);
        await eventually(() => field(page, 'MyStep', 'backlog').textContent()).toBe('40');
        expect(await field(page, 'MyStep', 'lastStatus').textContent()).toBe('never');
        expect(await field(page, 'MyAlert', 'backlog').textContent()).toBe('0');
        expect(await page.locator('#failures tbody').textContent()).toBe('No failed rows.');
        await eventually(() => lineageNode(page, 'step_MyStep').textContent()).toContain('backlog 40');
        expect(await fillOf(page, 'step_MyStep')).toBe(WAITING);
        expect(await page.locator('#mode').textContent()).toContain('read-only');

        // The step's worker holds at its start barrier (after its run is recorded) until the test has seen it.
        const barrier = path.join(tempDir(), `barrier-${dialect}`);
        const run = startCli(['in_corral.js', 'run'], { cwd: pipe.root, env: barrierEnv(barrier, 2) });
        await eventually(() => field(page, 'MyStep', 'running').textContent()).toBe('1');
        await eventually(() => lineageNode(page, 'step_MyStep').textContent()).toContain('1 worker running, ');
        expect(await fillOf(page, 'step_MyStep')).toBe(RUNNING);
        await eventually(() => page.locator('#runs tbody tr[data-processor="MyStep"]').first().getAttribute('data-status')).toBe('running');
        fs.writeFileSync(path.join(barrier, 'test'), '');
        const result = await run.result;
        expect(result.code, result.stderr).toBe(1);

        await eventually(() => field(page, 'MyStep', 'backlog').textContent()).toBe('0');
        await eventually(() => field(page, 'MyStep', 'doneLastHour').textContent()).toBe('39');
        await eventually(() => field(page, 'MyStep', 'retrying').textContent()).toBe('1');
        expect(await field(page, 'MyStep', 'running').textContent()).toBe('0');
        // An ok run with a row set aside is named as `runs` and `status` name it.
        expect(await field(page, 'MyStep', 'lastStatus').textContent()).toBe('rows-failed');
        expect(await field(page, 'MyStep', 'lastRows').textContent()).toBe('39 rows (1 failed)');
        expect(await field(page, 'MyAlert', 'backlog').textContent()).toBe('39');
        await eventually(() => lineageNode(page, 'step_MyStep').textContent()).toContain('1 row retrying');
        expect(await fillOf(page, 'step_MyStep')).toBe(FAILING);

        const failure = page.locator('#failures tbody tr[data-processor="MyStep"]');
        await eventually(() => failure.count()).toBe(1);
        expect(await failure.locator('td[data-field="row"]').textContent()).toBe('Example 13');
        expect(await failure.locator('td[data-field="state"]').textContent()).toMatch(/^retry after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
        expect(await failure.locator('td[data-field="error"]').textContent()).toContain('poison row 13');
        // Stack on demand; no action buttons on a read-only page.
        expect(await failure.locator('pre.stack').count()).toBe(0);
        expect(await failure.locator('button[data-action="retry"]').count()).toBe(0);
        await failure.locator('button[data-action="stack"]').click();
        await eventually(() => failure.locator('pre.stack').textContent()).toMatch(/Error: poison row 13\n\s+at MyStep\.process/);

        // Run history: filters by processor and status.
        await page.selectOption('#run-processor', 'MyStep');
        const runRows = async () => Promise.all((await page.locator('#runs tbody tr').all()).map(async (r) => `${await r.getAttribute('data-processor')} ${await r.getAttribute('data-status')}`));
        await eventually(runRows).toEqual(['MyStep rows-failed']);
        await page.selectOption('#run-status', 'ok');
        await eventually(() => page.locator('#runs tbody').textContent()).toBe('No runs match.');
        await page.selectOption('#run-status', 'rows-failed');
        await eventually(runRows).toEqual(['MyStep rows-failed']);
        await page.selectOption('#run-status', 'failed');
        await eventually(() => page.locator('#runs tbody').textContent()).toBe('No runs match.');

        // Read-only: a POST is refused even with the page's token.
        // (A string: the test's TypeScript has no DOM types.)
        const refused = await page.evaluate(`(async () => {
          const token = document.querySelector('meta[name="corral-token"]').content;
          const response = await fetch('api/failures/clear', { method: 'POST', headers: { 'content-type': 'application/json', 'x-corral-token': token }, body: '{"ids":[1]}' });
          return { status: response.status, body: await response.json() };
        })()`);
        expect(refused).toEqual({ status: 403, body: { error: 'This page is read-only: start `serve --allow-actions` to retry or clear failed rows from it' } });
        expect(await db.count('true', 'corral_failures')).toBe(1);
      } finally {
        await page.close();
      }
      // Ctrl-C: the server closes, with the exit code of an interrupted command.
      server.kill('SIGINT');
      const ended = await server.result;
      expect(ended.code).toBe(130);
      expect(ended.stderr).toContain('Stopped serving (SIGINT)');
    });

    test('when started with --allow-actions then retry and clear work through the page after a confirmation, and a POST without the token or from another site is refused', async () => {
      const { url } = await startServe(pipe, ['--allow-actions']);
      const page = await browser.newPage();
      try {
        await page.goto(url);
        expect(await page.locator('#mode').textContent()).toBe('actions allowed: retry and clear');
        const failure = page.locator('#failures tbody tr[data-processor="MyStep"]');
        await eventually(() => failure.locator('td[data-field="state"]').textContent()).toMatch(/^retry after /);
        const id = await failure.getAttribute('data-failure-id');

        // Without the token, or from another origin: refused before anything changes.
        expect(await post(`${url}api/failures/clear`, {}, JSON.stringify({ ids: [Number(id)] }))).toMatchObject({ status: 403 });
        const token = await page.locator('meta[name="corral-token"]').getAttribute('content');
        const crossSite = await post(`${url}api/failures/clear`, { 'x-corral-token': token!, origin: 'http://evil.example' }, JSON.stringify({ ids: [Number(id)] }));
        expect(crossSite).toEqual({ status: 403, body: JSON.stringify({ error: 'Refused a request from another site (http://evil.example)' }) });
        expect(await db.count('true', 'corral_failures')).toBe(1);

        // Dismissed: nothing happens.
        page.once('dialog', (dialog) => void dialog.dismiss());
        await failure.locator('button[data-action="retry"]').click();
        expect(await page.locator('#notice').textContent()).toBe('');

        // Retry: the row is eligible now, so it is MyStep's backlog again.
        const questions: string[] = [];
        page.on('dialog', (dialog) => {
          questions.push(dialog.message());
          void dialog.accept();
        });
        await failure.locator('button[data-action="retry"]').click();
        await eventually(() => page.locator('#notice').textContent()).toBe('Row Example 13 of MyStep will be retried on the next run.');
        await eventually(() => field(page, 'MyStep', 'backlog').textContent()).toBe('1');
        await eventually(() => failure.locator('td[data-field="state"]').textContent()).toBe('retry after 1970-01-01 00:00:00');

        // Clear: the failure is forgotten.
        await failure.locator('button[data-action="clear"]').click();
        await eventually(() => page.locator('#failures tbody').textContent()).toBe('No failed rows.');
        await eventually(() => field(page, 'MyStep', 'retrying').textContent()).toBe('0');
        expect(questions).toEqual(['Retry row Example 13 of MyStep on the next run?', 'Forget the failure of row Example 13 of MyStep? It will be processed again as if it never failed.']);
        expect(await db.count('true', 'corral_failures')).toBe(0);
      } finally {
        await page.close();
      }
    });
  });
});

describe('serve, without a browser', () => {
  let pipe: ScaffoldedPipeline;

  beforeAll(async () => {
    pipe = copyPipeline(await scaffoldOnce(), tempDir(), 'servepipe-plain');
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  });

  /** A GET with the Host header given. */
  function get(url: string, host: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http
        .get(url, { headers: { host } }, (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        })
        .on('error', reject);
    });
  }

  test('when a request names another host (DNS rebinding) then it is refused; the page and its data answer to the loopback names; SIGTERM stops it with exit code 0', async () => {
    const { server, url } = await startServe(pipe);
    const port = new URL(url).port;
    const refused = await get(`${url}api/runs`, 'evil.example');
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ error: `Refused: this server answers to 127.0.0.1:${port} or localhost:${port} or [::1]:${port}, not 'evil.example'` });
    expect(await get(`${url}api/runs`, `localhost:${port}`)).toEqual({ status: 200, body: '[]' });
    const page = await get(url, `127.0.0.1:${port}`);
    expect(page.status).toBe(200);
    // Self-contained: no address outside the page's own server.
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(page.body).toContain('read-only (start with --allow-actions to retry or clear)');
    server.kill('SIGTERM');
    const ended = await server.result;
    expect(ended.code).toBe(0);
    expect(ended.stderr).toContain('Stopped serving (SIGTERM)');
  });

  test('when the port is taken or not a port then serve says so in one line and exits 1', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const result = await pipe.cli(['serve', '--port', String(port)]);
      expectExit(result, 1);
      expect(result.stderr).toContain(`Error: Port ${port} on 127.0.0.1 is in use`);
      expect(result.stderr).toContain('Choose another with --port, or --port 0 for any free one');
    } finally {
      taken.close();
    }
    const bad = await pipe.cli(['serve', '--port', 'http']);
    expectExit(bad, 1);
    expect(bad.stderr).toContain("Error: --port takes a number from 0 to 65535, got 'http'");
  });
});
