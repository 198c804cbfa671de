import { CorralError } from '../../core/errors.js';
import type { SettingsView } from '../../conf/load.js';
import type { ModelInstance } from '../../db/model.js';
import type { Alert } from '../alert.js';
import { CONTEXT, LIFECYCLE, contextOf, type Lifecycle, type ProcessorContext } from '../processor-context.js';
import type { Outbox } from './outbox.js';
import { keyText } from '../../db/bookkeeping/row-keys.js';

/**
 * An endpoint refused one row for good (an HTTP 4xx about the request, a permanent
 * SMTP rejection of the message): the row's failure. The alert records it in
 * `corral_failures` (retried with backoff, quarantined after `maxAttempts`) and goes
 * on with the next row. Anything else an endpoint throws while it renders or sends a
 * row counts as the row's too, except `EndpointUnavailable` and lost database
 * connections.
 */
export class RowRejected extends CorralError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, code: 'CORRAL_ROW_REJECTED' });
  }
}

/**
 * An endpoint cannot take any row now (refused connection, timeout, DNS, TLS, an HTTP
 * 5xx, a failed SMTP login): nobody's row is to blame. The alert stops, the rows
 * delivered so far stay recorded, and the rest are sent on the next run.
 */
export class EndpointUnavailable extends CorralError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, {
      hint: 'No row is blamed: the rows delivered so far are recorded; the others are sent on the next run.',
      ...options,
      code: 'CORRAL_ENDPOINT_UNAVAILABLE',
    });
  }
}

/** `<endpoint> endpoint could not deliver to <where>: <reason>`: the endpoint's failure. */
export function deliveryError(endpoint: string, where: string, reason: string, cause?: unknown): EndpointUnavailable {
  return new EndpointUnavailable(`${endpoint} endpoint could not deliver to ${where}: ${reason}`, { cause });
}

/** `<endpoint> endpoint at <where> rejected the row: <reason>`: the row's failure. */
export function rowRejection(endpoint: string, where: string, reason: string, cause?: unknown): RowRejected {
  return new RowRejected(`${endpoint} endpoint at ${where} rejected the row: ${reason}`, { cause });
}

const LIFE: Lifecycle = { runs: 'its alert runs', use: 'setup(alert), process(row) or teardown()' };

/**
 * Where an alert sends each of its rows. `setup` opens the channel, `process`
 * delivers one row, `teardown` closes it (and learns of an error). Subclass it for
 * custom channels: a plot, a web hook, a message queue. `process` throws
 * `EndpointUnavailable` when the channel is down and `RowRejected` (or any error)
 * when the row cannot be delivered.
 *
 * Before `setup`, the alert loop gives the endpoint its alert's context: the
 * settings, the outbox of a test and the pipeline's name of the environment that
 * runs the alert (`this.settings`, `this.outbox`).
 */
export abstract class Endpoint {
  private current: Alert | undefined;
  declare [CONTEXT]: ProcessorContext | undefined;

  get [LIFECYCLE](): Lifecycle {
    return LIFE;
  }

  /** The alert this endpoint works for during a run. */
  get alert(): Alert {
    if (!this.current) throw new Error(`${this.constructor.name} is not set up: it serves an alert only while the alert runs`);
    return this.current;
  }

  setup(alert: Alert): void | Promise<void> {
    this.current = alert;
  }

  abstract process(row: ModelInstance): void | Promise<void>;

  teardown(_error?: unknown): void | Promise<void> {
    this.current = undefined;
    this[CONTEXT] = undefined;
  }

  /** The settings of the environment that runs the alert, as its processors see them. */
  get settings(): SettingsView {
    return contextOf(this, 'settings').settings;
  }

  /**
   * Where deliveries go instead of the network in a test (`TestCase.outbox`), or
   * undefined when they are for real. A custom endpoint that reaches the outside
   * world can check it to stay quiet in tests.
   */
  get outbox(): Outbox | undefined {
    return contextOf(this, 'outbox').outbox;
  }

  /** The alert's text for `row`, as rendered for this endpoint. */
  render(row: ModelInstance): string | Promise<string> {
    return this.alert.renderAlert(new Date(), this, row);
  }

  /**
   * A key that names this delivery, the same on every attempt and every run:
   * `corral-` and 32 hex digits of a SHA-256 of (pipeline name, alert class, table,
   * primary key). A receiver that remembers the keys it has seen can drop repeats
   * (see "Duplicates" in the README). Webhook sends it as `Idempotency-Key`, Email
   * as its Message-ID.
   */
  idempotencyKey(row: ModelInstance): string {
    const Model = row.model;
    // Integer and string keys (the only kinds alerts accept) have the same text on both dialects.
    const parts = [contextOf(this, 'idempotencyKey').pipelineName, this.alert.constructor.name, Model.table, keyText(Model, row)];
    return `corral-${process.getBuiltinModule('node:crypto').createHash('sha256').update(parts.join('\x1f')).digest('hex').slice(0, 32)}`;
  }

  /** What every outbox entry records about the row (tests). */
  protected deliveryOf(row: ModelInstance): { alert: string; rowKey: string; idempotencyKey: string } {
    return { alert: this.alert.constructor.name, rowKey: keyText(row.model, row), idempotencyKey: this.idempotencyKey(row) };
  }
}
