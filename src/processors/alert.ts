import type { Condition } from '../db/conditions.js';
import type { ModelClass, ModelInstance } from '../db/model.js';
import type { Endpoint } from './endpoints/endpoint.js';
import { Processor } from './processor.js';
import type { Ordering } from './step.js';

/**
 * A view of the stream: the rows of `model` matching `conditions` are sent to every
 * endpoint in `alertTo`, each row once per alert class (remembered in the
 * `corral_alerted` table).
 */
export abstract class Alert<Row extends ModelInstance = any> extends Processor {
  static model: ModelClass | undefined = undefined;
  static conditions: readonly Condition[] | undefined = undefined;
  static ordering: readonly Ordering[] | undefined = undefined;
  /** Where each row goes. */
  static alertTo: readonly Endpoint[] = [];

  /** The endpoints of this alert (the class's `alertTo`). */
  get endpoints(): readonly Endpoint[] {
    return (this.constructor as typeof Alert).alertTo;
  }

  /**
   * The text an endpoint sends for one row. Override for a custom message; it may
   * be async (e.g. to follow a relation of the row).
   * (Default: `[<pipeline>-ALERT @ <UTC time>] Check the object '<row>'`)
   */
  renderAlert(now: Date, _endpoint: Endpoint, row: Row): string | Promise<string> {
    return `[${this.settings.resolved.name}-ALERT @ ${now.toISOString()}] Check the object '${String(row)}'\n`;
  }
}
