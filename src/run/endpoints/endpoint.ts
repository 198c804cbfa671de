import type { ModelInstance } from '../../db/model.js';
import type { Alert } from '../alert.js';

/**
 * Where an alert sends each of its rows. `setup` opens the channel, `process`
 * delivers one row, `teardown` closes it (and learns of an error). Subclass it for
 * custom channels: a plot, a web hook, a message queue.
 */
export abstract class Endpoint {
  private current: Alert | undefined;

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
  }

  /** The alert's text for `row`, as rendered for this endpoint. */
  render(row: ModelInstance): string | Promise<string> {
    return this.alert.renderAlert(new Date(), this, row);
  }
}
