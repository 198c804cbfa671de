/**
 * What an alert delivered during a test, kept in memory instead of being sent: a
 * TestCase reads it as `this.outbox` (as Django's test runner keeps `mail.outbox`).
 * One outbox per test environment, handed to the alert through the run's context:
 * no module-level state, so two environments in one process never mix their mail.
 */

/** What every delivery records. */
interface DeliveryBase {
  /** The alert's class name. */
  readonly alert: string;
  /** The row's primary key as text, as `corral_alerted.model_key` holds it (`'3'`; a composite key's parts joined by `\x1f`). */
  readonly rowKey: string;
  /** The row's idempotency key (see `Endpoint.idempotencyKey`). */
  readonly idempotencyKey: string;
}

/** An e-mail an `Email` endpoint would have sent. */
export interface EmailDelivery extends DeliveryBase {
  readonly endpoint: 'Email';
  readonly to: readonly string[];
  readonly from: string;
  readonly subject: string;
  readonly text: string;
  /** `<idempotency key@pipeline.corral>`, the Message-ID header. */
  readonly messageId: string;
}

/** A POST a `Webhook` endpoint would have made. */
export interface WebhookDelivery extends DeliveryBase {
  readonly endpoint: 'Webhook';
  /** `host:port` of the URL: the rest of a webhook URL is often its secret. */
  readonly host: string;
  /** The request headers, lower-case names (`content-type`, `idempotency-key`, the endpoint's own). */
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON body, parsed back: what the server would have received. */
  readonly body: unknown;
}

export type Delivery = EmailDelivery | WebhookDelivery;

export class Outbox {
  private readonly kept: Delivery[] = [];

  /** Every delivery so far, oldest first. */
  get deliveries(): readonly Delivery[] {
    return this.kept;
  }

  add(delivery: Delivery): void {
    this.kept.push(Object.freeze(delivery));
  }
}
