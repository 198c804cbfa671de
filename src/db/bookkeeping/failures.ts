import type { Logger } from '../../core/logger.js';
import type { Knex } from 'knex';
import { describeError } from '../../core/errors.js';
import type { Engine } from '../engine.js';
import { Failure } from './models.js';
import type { ModelClass } from '../model.js';
import { keyText, keyTextMatches } from './row-keys.js';
import type { Restriction } from '../conditions.js';

/** How failed rows are retried: the settings `retryDelaySeconds` and `maxAttempts`. */
export interface RetryPolicy {
  readonly retryDelaySeconds: number;
  readonly maxAttempts: number;
}

/** A row that failed in a run, as the run's summary reports it. */
export interface RowFailure {
  readonly key: string;
  readonly message: string;
  readonly attempts: number;
  readonly quarantined: boolean;
  readonly stack?: string | undefined;
}

/** What happened to a failed row: retried later, or quarantined for good. */
export interface RecordedFailure {
  readonly attempts: number;
  readonly quarantined: boolean;
  readonly nextAt: Date;
}

/**
 * The failure memory of one processor on one model: records failed rows, keeps
 * them out of the work set while they back off or sit in quarantine, and forgets
 * a row once it succeeds.
 */
export class FailureLog {
  private readonly engine: Engine;
  private readonly processor: string;
  private readonly Model: ModelClass;
  private readonly settings: RetryPolicy;
  /** Whether this processor has any failure on record (checked once, then kept up to date). */
  private any = false;
  /** Rows that failed in this run are not retried in it, whatever their backoff. */
  private readonly runStartedAt = new Date();

  constructor(engine: Engine, processor: string, Model: ModelClass, settings: RetryPolicy) {
    this.engine = engine;
    this.processor = processor;
    this.Model = Model;
    this.settings = settings;
  }

  /** Whether any failure of this processor is on record (so a success may have one to forget). */
  get anyRecorded(): boolean {
    return this.any;
  }

  async load(): Promise<void> {
    const row = await this.engine.knex(Failure.table).where({ processor: this.processor, model_table: this.Model.table }).first('id');
    this.any = row !== undefined;
  }

  /** Leaves out rows that are backing off or quarantined; costs nothing while there are none. */
  restriction(): Restriction {
    const restrict = (query: Knex.QueryBuilder) => {
      if (!this.any) return;
      const { Model, processor, engine } = this;
      const { store } = engine;
      const now = store.value(Failure.columns.next_at.spec, new Date());
      const runStartedAt = store.value(Failure.columns.last_at.spec, this.runStartedAt);
      query.whereNotExists(function (this: Knex.QueryBuilder) {
        this.select(engine.knex.raw('1'))
          .from(Failure.table)
          .where(`${Failure.table}.processor`, processor)
          .andWhere(`${Failure.table}.model_table`, Model.table);
        keyTextMatches(this, `${Failure.table}.model_key`, Model, store);
        this.andWhere((q) =>
          q
            .where(`${Failure.table}.quarantined`, store.value(Failure.columns.quarantined.spec, true) as never)
            .orWhere(`${Failure.table}.next_at`, '>', now as never)
            .orWhere(`${Failure.table}.last_at`, '>=', runStartedAt as never),
        );
      });
    };
    return Object.assign(restrict, { addsNothing: () => !this.any });
  }

  /** Records a failure in a transaction of its own (the row's work was rolled back). */
  async record(row: object, error: unknown): Promise<RecordedFailure> {
    const key = keyText(this.Model, row);
    return this.engine.inTransaction(async (tx) => this.recordIn(tx.db, key, error));
  }

  /**
   * Records a failure of the row named `key` through `db`: the loader records a refused
   * object in the transaction of its chunk, so that both commit together.
   */
  async recordIn(db: Knex, key: string, error: unknown): Promise<RecordedFailure> {
    const { store } = this.engine;
    const now = new Date();
    const stack = error instanceof Error ? (error.stack ?? null) : null;
    const where = { processor: this.processor, model_table: this.Model.table, model_key: key };
    const existing = (await db(Failure.table).where(where).first()) as Record<string, unknown> | undefined;
    const attempts = Number(existing?.attempts ?? 0) + 1;
    const quarantined = attempts >= this.settings.maxAttempts;
    const delay = this.settings.retryDelaySeconds * 1000 * 2 ** (attempts - 1);
    const nextAt = new Date(now.getTime() + delay);
    const values = {
      error: describeError(error).slice(0, 10_000),
      stack: stack?.slice(0, 20_000) ?? null,
      attempts,
      last_at: store.value(Failure.columns.last_at.spec, now),
      next_at: store.value(Failure.columns.next_at.spec, nextAt),
      quarantined: store.value(Failure.columns.quarantined.spec, quarantined),
    };
    if (existing) await db(Failure.table).where(where).update(values);
    else await db(Failure.table).insert({ ...where, ...values, first_at: values.last_at });
    this.any = true;
    return { attempts, quarantined, nextAt };
  }

  /** Forgets a row that succeeded, in the transaction of its chunk. */
  async forget(db: Knex, row: object): Promise<void> {
    if (!this.any) return;
    await db(Failure.table).where({ processor: this.processor, model_table: this.Model.table, model_key: keyText(this.Model, row) }).delete();
  }
}

/**
 * What a run reports of a row it set aside (step or alert): the summary's entry, and
 * the one warning line that says whether it will be retried or is quarantined.
 */
export function setAsideReport(key: string, error: unknown, recorded: RecordedFailure, maxAttempts: number, logger: Logger): RowFailure {
  logger.warn(
    { row: key, attempts: recorded.attempts },
    recorded.quarantined
      ? `Row ${key} failed and is quarantined after ${recorded.attempts} attempt(s): ${describeError(error)}`
      : `Row ${key} failed (attempt ${recorded.attempts} of ${maxAttempts}, retried after ${recorded.nextAt.toISOString()}): ${describeError(error)}`,
  );
  return {
    key,
    message: describeError(error),
    attempts: recorded.attempts,
    quarantined: recorded.quarantined,
    stack: error instanceof Error ? error.stack : undefined,
  };
}
