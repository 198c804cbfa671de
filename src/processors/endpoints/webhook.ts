import { setTimeout as sleep } from 'node:timers/promises';
import { ImproperlyConfigured, describeError } from '../../core/errors.js';
import type { SettingsView } from '../../conf/load.js';
import type { ModelInstance } from '../../db/model.js';
import type { Alert } from '../alert.js';
import { Endpoint, deliveryError, rowRejection } from './endpoint.js';

export interface WebhookOptions {
  /**
   * Where to POST, or a function of the settings that gives it (webhook URLs are
   * secrets: keep them out of the code, e.g. `(s) => String(s.slackHook)`).
   */
  url: string | ((settings: SettingsView) => string);
  /** Per attempt. (Default: 10000) */
  timeoutMs?: number;
  /** Further attempts after a network error, a timeout or a 5xx/408/409/429 answer. (Default: 2) */
  retries?: number;
  /** Wait before the first retry; doubles with each one. (Default: 500) */
  backoffMs?: number;
  /** Extra request headers, e.g. `{ Authorization: 'Bearer ...' }`. */
  headers?: Readonly<Record<string, string>>;
}

/** What a Webhook posts for one row. `text` is what Slack and Mattermost show. */
export interface WebhookPayload {
  readonly text: string;
  /** The alert's class name. */
  readonly alert: string;
  readonly row: Record<string, unknown>;
  /** The same for every attempt and run of this row (also the `Idempotency-Key` header): drop repeats by it. */
  readonly idempotencyKey: string;
}

/**
 * A failed attempt. `retry`: trying again may help; `row`: the server refused this
 * row's request for good; `endpoint`: it refuses every request (URL, credentials).
 */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly outcome: 'retry' | 'row' | 'endpoint',
  ) {
    super(message);
  }
}

/**
 * 4xx answers about the hook rather than the request: a wrong URL or token, a hook
 * that was removed. Blaming rows for them would quarantine every row.
 */
const ENDPOINT_STATUSES = new Set([401, 403, 404, 405, 407, 410]);

/**
 * 408 (timeout), 429 (too many requests), 425 (too early) and 409, which a server
 * that honours Idempotency-Key answers while the first request with that key is still
 * in progress: worth another attempt.
 */
const RETRY_STATUSES = new Set([408, 409, 425, 429]);

/** What an HTTP error status says about the row. */
function outcomeOf(status: number): AttemptError['outcome'] {
  if (status >= 500 || RETRY_STATUSES.has(status)) return 'retry';
  if (status >= 400 && !ENDPOINT_STATUSES.has(status)) return 'row';
  return 'endpoint';
}

/**
 * POSTs each alerted row as JSON (`{ text, alert, row, idempotencyKey }`) to a URL:
 * a Slack or Mattermost incoming webhook, or a service of your own. Every attempt
 * carries the row's idempotency key as the `Idempotency-Key` header too.
 *
 * Network errors, timeouts and 5xx/408/409/425/429 answers are retried with a short
 * backoff; when the retries run out, the endpoint is down: the alert stops and no
 * row is blamed. Other 4xx answers are not retried: 401, 403, 404, 405, 407 and 410
 * (the hook's URL or credentials) stop the alert; the rest (400, 413, 422, ...) reject
 * the row, which is recorded as failed while the alert goes on. Messages name the
 * server by host and port only: the rest of a webhook URL is often its secret.
 *
 * In a test (`TestCase`), the request goes to the test's outbox instead (see
 * `TestCase.outbox` and `realDelivery`).
 */
export class Webhook extends Endpoint {
  readonly url: WebhookOptions['url'];
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly headers: Readonly<Record<string, string>>;
  private target: URL | undefined;

  constructor(options: WebhookOptions) {
    super();
    if (typeof options?.url !== 'string' && typeof options?.url !== 'function') {
      throw new ImproperlyConfigured('Webhook needs a url', { hint: "new Webhook({ url: 'https://hooks.example.org/...' })" });
    }
    this.url = options.url;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 2;
    this.backoffMs = options.backoffMs ?? 500;
    this.headers = options.headers ?? {};
  }

  /** `host:port` of the target, for messages. */
  get server(): string {
    if (!this.target) return '(not set up)';
    return `${this.target.hostname}:${this.target.port || (this.target.protocol === 'https:' ? 443 : 80)}`;
  }

  /** Checks the URL; connects nowhere yet. */
  override setup(alert: Alert): void {
    super.setup(alert);
    const given = typeof this.url === 'function' ? this.url(this.settings) : this.url;
    let target: URL;
    try {
      target = new URL(given);
    } catch {
      throw new ImproperlyConfigured(`${alert.constructor.name}'s Webhook url is not a URL`);
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new ImproperlyConfigured(`${alert.constructor.name}'s Webhook url must be http or https, not ${target.protocol}`);
    }
    this.target = target;
  }

  /** The JSON body for one row. Override to post another shape. */
  async payload(row: ModelInstance): Promise<unknown> {
    const body: WebhookPayload = { text: await this.render(row), alert: this.alert.constructor.name, row: row.toJSON(), idempotencyKey: this.idempotencyKey(row) };
    return body;
  }

  async process(row: ModelInstance): Promise<void> {
    const body = JSON.stringify(await this.payload(row));
    const key = this.idempotencyKey(row);
    const outbox = this.outbox;
    if (outbox) {
      outbox.add({ endpoint: 'Webhook', ...this.deliveryOf(row), host: this.server, headers: this.requestHeaders(key), body: JSON.parse(body) as unknown });
      return;
    }
    let delay = this.backoffMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.post(body, key);
        return;
      } catch (error) {
        const outcome = error instanceof AttemptError ? error.outcome : 'retry';
        if (outcome === 'retry' && attempt <= this.retries) {
          await sleep(delay);
          delay *= 2;
          continue;
        }
        const reason = `${describeError(error)}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`;
        throw outcome === 'row' ? rowRejection('Webhook', this.server, reason, error) : deliveryError('Webhook', this.server, reason, error);
      }
    }
  }

  /** The headers of every attempt, names in lower case (as a server sees them). */
  private requestHeaders(key: string): Record<string, string> {
    const own = Object.fromEntries(Object.entries(this.headers).map(([name, value]) => [name.toLowerCase(), value]));
    return { 'content-type': 'application/json', ...own, 'idempotency-key': key };
  }

  private async post(body: string, key: string): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.target!, {
        method: 'POST',
        headers: this.requestHeaders(key),
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : networkReason(error);
      throw new AttemptError(reason, 'retry');
    }
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const text = (await response.text().catch(() => '')).trim().slice(0, 200);
    throw new AttemptError(`HTTP ${response.status} ${response.statusText}${text ? `: ${text}` : ''}`, outcomeOf(response.status));
  }
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_SOCKET: 'connection closed by the server',
};

/** fetch says only "fetch failed"; the reason is in its cause (ECONNREFUSED, ...). */
function networkReason(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code) return `${NETWORK_ERRORS[cause.code] ?? cause.message ?? 'network error'} (${cause.code})`;
  return cause?.message || describeError(error);
}
