/**
 * The HTTP server of `serve` (node:http only): the page, its data as JSON, a
 * server-sent event stream that pushes a fresh snapshot every interval while a page
 * is open, and the retry/clear actions.
 *
 * Guards:
 * - every request must name this server in its Host header (a DNS-rebinding page
 *   elsewhere cannot read the data through a name that resolves to 127.0.0.1);
 * - a POST is refused (403) unless the server was started with actions allowed, and
 *   it must carry the token embedded in the page (`X-Corral-Token`), and, when the
 *   browser sends one, an Origin of this server: another site's page can neither
 *   read the token nor send the header without being refused.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redactSecrets } from '../core/redact.js';
import type { ResolvedSettings } from '../conf/settings.js';
import type { Engine } from '../db/engine.js';
import type { Lineage } from '../docs/lineage.js';
import type { Registry } from '../run/registry.js';
import { applyFailureAction, isFailureAction } from './actions.js';
import { LineageRenderer, toneOf } from './lineage-view.js';
import { statusPageHtml } from './page.js';
import { failureStack, listRuns, takeSnapshot, type Snapshot } from './snapshot.js';

export interface StatusServerOptions {
  readonly host: string;
  readonly port: number;
  /** Reads: the page's own connection (read-engine.ts). */
  readonly reader: Engine;
  /** Retry and clear: the pipeline's engine. */
  readonly writer: Engine;
  readonly settings: ResolvedSettings;
  readonly registry: Registry;
  /** The lineage as the runs recorded so far have taught it: asked at start and every `LINEAGE_REFRESH_MS`. */
  readonly lineage: () => Promise<Lineage>;
  readonly allowActions: boolean;
  /** How often a snapshot is taken while a page is open. */
  readonly intervalMs: number;
  readonly logger: Logger;
}

export interface StatusServer {
  readonly url: string;
  close(): Promise<void>;
}

/** What the event stream and /api/snapshot send: the figures and the coloured graph. */
interface Update {
  readonly snapshot: Snapshot;
  readonly lineageSvg: string;
}

/** How often the learned writes are read again: a processor's first run adds edges (a scan of corral_runs, so not every snapshot). */
const LINEAGE_REFRESH_MS = 30_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(data) });
  response.end(data);
}

async function readBody(request: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  let body = '';
  for await (const chunk of request) {
    body += String(chunk);
    if (body.length > limit) throw new HttpError(413, 'The request body is too large');
  }
  return body;
}

const sameToken = (given: string | undefined, token: string) => given !== undefined && given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));

export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const token = randomBytes(24).toString('hex');
  const renderer = new LineageRenderer(await options.lineage(), `${options.settings.name} lineage`);
  let lineageAt = Date.now();
  const streams = new Set<http.ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  let closing = false;
  /** The names this server answers to, filled once the port is known; any, on a wildcard address the user asked for. */
  const hosts = new Set<string>();
  const anyHost = ['0.0.0.0', '::'].includes(options.host);

  const update = async (): Promise<Update> => {
    if (Date.now() - lineageAt > LINEAGE_REFRESH_MS) {
      lineageAt = Date.now();
      renderer.lineage = await options.lineage();
    }
    const taken = await takeSnapshot(options.reader, options.settings, options.registry);
    const snapshot = { ...taken, processors: taken.processors.map((p) => ({ ...p, tone: toneOf(p) })) };
    return { snapshot, lineageSvg: await renderer.svg(taken.processors) };
  };

  const broadcast = (event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };

  /** Reads and actions under way: `close` waits for them, so that no query is cut off with its pool. */
  const pending = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    pending.add(work);
    void work.then(
      () => pending.delete(work),
      () => pending.delete(work),
    );
    return work;
  };

  /** One snapshot at a time, the next one an interval after the last ended, only while a page listens. */
  const tick = async () => {
    timer = undefined;
    if (closing || streams.size === 0) return;
    try {
      broadcast('snapshot', await track(update()));
    } catch (error) {
      broadcast('problem', { message: redactSecrets(`Could not read the database: ${describeError(error)}`) });
    }
    if (!closing && streams.size > 0) timer = setTimeout(() => void tick(), options.intervalMs);
  };
  const refreshSoon = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void tick(), 0);
  };

  const routes = async (request: http.IncomingMessage, response: http.ServerResponse, url: URL) => {
    const route = `${request.method} ${url.pathname}`;
    if (route === 'GET /') {
      const html = statusPageHtml({ title: `${options.settings.name} status`, token, allowActions: options.allowActions });
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        // Self-contained: nothing is fetched from anywhere but here.
        'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
      });
      response.end(html);
      return;
    }
    if (route === 'GET /favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    if (route === 'GET /api/snapshot') return sendJson(response, 200, await update());
    if (route === 'GET /api/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      response.write(': corral status\n\n');
      streams.add(response);
      request.on('close', () => streams.delete(response));
      refreshSoon();
      return;
    }
    if (route === 'GET /api/runs') {
      const limit = url.searchParams.get('limit');
      const runs = await listRuns(options.reader, {
        processor: url.searchParams.get('processor') || undefined,
        status: url.searchParams.get('status') || undefined,
        limit: limit ? Number(limit) || undefined : undefined,
      });
      return sendJson(response, 200, runs);
    }
    const stack = /^GET \/api\/failures\/(\d+)\/stack$/.exec(route);
    if (stack) return sendJson(response, 200, { stack: await failureStack(options.reader, Number(stack[1])) });
    const action = /^POST \/api\/failures\/([a-z]+)$/.exec(route);
    if (action) {
      if (!options.allowActions) throw new HttpError(403, 'This page is read-only: start `serve --allow-actions` to retry or clear failed rows from it');
      const origin = request.headers.origin;
      if (origin !== undefined && origin !== `http://${request.headers.host ?? ''}`) throw new HttpError(403, `Refused a request from another site (${origin})`);
      if (!sameToken(request.headers['x-corral-token'] as string | undefined, token)) throw new HttpError(403, 'Refused: the request does not carry this page\'s token (reload the page)');
      if (!isFailureAction(action[1])) throw new HttpError(404, `No action '${action[1]}': retry or clear`);
      let ids: unknown;
      try {
        ids = (JSON.parse(await readBody(request)) as { ids?: unknown }).ids;
      } catch {
        throw new HttpError(400, 'The body must be JSON: {"ids": [1, 2]}');
      }
      if (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id))) throw new HttpError(400, 'The body must be JSON: {"ids": [1, 2]}');
      const changed = await applyFailureAction(options.writer, action[1], ids as number[]);
      options.logger.info({ action: action[1], ids, changed }, `Status page: ${action[1]} of ${changed} failed row(s)`);
      refreshSoon();
      return sendJson(response, 200, { action: action[1], changed });
    }
    throw new HttpError(404, `Not found: ${url.pathname}`);
  };

  const server = http.createServer((request, response) => {
    const host = request.headers.host ?? '';
    if (!anyHost && !hosts.has(host)) {
      sendJson(response, 403, { error: `Refused: this server answers to ${[...hosts].join(' or ')}, not '${host}'` });
      return;
    }
    const url = new URL(request.url ?? '/', `http://${host}`);
    track(routes(request, response, url)).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (!(error instanceof HttpError)) options.logger.warn(`Status page: ${request.method} ${url.pathname} failed: ${describeError(error)}`);
      if (!response.headersSent) sendJson(response, status, { error: redactSecrets(error instanceof HttpError ? error.message : describeError(error)) });
      else response.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
  hosts.add(`${shown}:${port}`);
  if (['127.0.0.1', '::1', 'localhost'].includes(options.host)) for (const name of ['127.0.0.1', 'localhost', '[::1]']) hosts.add(`${name}:${port}`);
  return {
    url: `http://${shown}:${port}/`,
    async close() {
      closing = true;
      if (timer) clearTimeout(timer);
      for (const stream of streams) stream.end();
      streams.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.allSettled([...pending]);
      await closed;
    },
  };
}
