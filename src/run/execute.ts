import { performance } from 'node:perf_hooks';
import { CorralError, ImproperlyConfigured, ProcessorError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { checkConditions } from '../db/conditions.js';
import { pushContext, popContext } from '../db/context.js';
import type { Engine, Transaction } from '../db/engine.js';
import { Alerted } from '../db/framework-models.js';
import { toDb, type Dialect } from '../db/values.js';
import { describeKey, hydrate, isModelClass, isModelInstance, type ModelClass, type ModelInstance } from '../db/model.js';
import { Alert } from './alert.js';
import { Loader, type Generated } from './loader.js';
import { PROCESSOR_LOGGER, type Processor, type ProcessorClass } from './processor.js';
import { Step, type StepResult } from './step.js';
import { WorkSet, type Restriction } from './work-set.js';

export type ProcessorKind = 'loader' | 'step' | 'alert';

export interface RunContext {
  readonly engine: Engine;
  readonly settings: ResolvedSettings;
  readonly logger: Logger;
  /** Called after each committed chunk with the rows done so far. */
  readonly onProgress?: (rows: number) => void;
}

export interface RunStats {
  readonly processor: string;
  readonly kind: ProcessorKind;
  readonly status: 'ok' | 'failed';
  /** Rows read (steps, alerts) or objects stored (loader) and committed. */
  readonly rows: number;
  readonly seconds: number;
  readonly error?: CorralError;
}

export function kindOf(Class: ProcessorClass): ProcessorKind {
  if (Class.prototype instanceof Loader) return 'loader';
  if (Class.prototype instanceof Step) return 'step';
  if (Class.prototype instanceof Alert) return 'alert';
  throw new ImproperlyConfigured(`${Class.name} is not a Loader, Step or Alert`);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Stores what `generate`/`process` produced: nothing, one instance, or a (lazy, maybe async) sequence. */
async function storeProduced(processor: Processor, tx: () => Transaction, produced: unknown, onStored: () => void | Promise<void>): Promise<void> {
  if (produced === undefined || produced === null) return;
  if (isModelInstance(produced)) {
    await tx().save(produced);
    await onStored();
    return;
  }
  if (typeof produced === 'object' && Symbol.asyncIterator in produced) {
    for await (const item of produced as AsyncIterable<unknown>) {
      processor.validate(item);
      await tx().save(item);
      await onStored();
    }
    return;
  }
  if (typeof produced === 'object' && Symbol.iterator in produced) {
    for (const item of produced as Iterable<unknown>) {
      processor.validate(item);
      await tx().save(item);
      await onStored();
    }
    return;
  }
  processor.validate(produced);
}

function modelOf(Class: typeof Step | typeof Alert): ModelClass {
  const Model = Class.model;
  if (!isModelClass(Model)) {
    throw new ImproperlyConfigured(`${Class.name}.model is not set to a model class`, {
      hint: `static model = models.SomeModel; inside class ${Class.name}`,
    });
  }
  if (Class.conditions === undefined) {
    throw new ImproperlyConfigured(`${Class.name}.conditions is not set`, { hint: 'static conditions = []  (every row) or e.g. [{ ra: null }]' });
  }
  checkConditions(Class.name, Model, Class.conditions);
  if (Class.prototype instanceof Alert) {
    const odd = Model.primaryKey.find((name) => !ALERTABLE_KEYS.has(Model.columns[name]!.spec.kind));
    if (odd) {
      throw new ImproperlyConfigured(
        `${Class.name} alerts on ${Model.name}, whose primary key column '${odd}' is a ${Model.columns[odd]!.spec.kind}; alerts remember rows by integer or string keys`,
        { hint: `Give ${Model.name} an integer id primary key (and make '${odd}' unique instead)` },
      );
    }
  }
  return Model;
}

/** Checks a step's or alert's class-level declarations without touching the database. */
export function checkProcessorClass(Class: ProcessorClass): void {
  const kind = kindOf(Class);
  if (kind !== 'loader') modelOf(Class as unknown as typeof Step);
}

/**
 * Runs one processor to the end of its work in this process: the single loop behind
 * `load`, `run`, `check-alerts`, `run-all` (in each child) and tests.
 */
export async function executeProcessor(Class: ProcessorClass, context: RunContext): Promise<RunStats> {
  const kind = kindOf(Class);
  const started = performance.now();
  const logger = context.logger.child({ processor: Class.name });
  const processor = new (Class as unknown as new () => Processor)();
  processor[PROCESSOR_LOGGER] = logger;
  const chunkSize = Class.chunkSize ?? context.settings.chunkSize;
  const base = { engine: context.engine, db: context.engine.knex };
  let rows = 0;
  let failure: unknown;
  let failedRow: string | undefined;
  logger.info(`Executing ${kind}`);
  pushContext(base);
  try {
    if (kind === 'loader') {
      const outcome = await runLoader(processor as Loader, context, chunkSize);
      rows = outcome.rows;
      failure = outcome.failure;
    } else {
      const Model = modelOf(Class as unknown as typeof Step);
      const outcome = await runOverRows(processor as Step | Alert, Class as unknown as typeof Step, Model, context, chunkSize);
      rows = outcome.rows;
      failure = outcome.failure;
      failedRow = outcome.failedRow;
    }
  } catch (error) {
    failure = error;
  } finally {
    popContext(base);
  }
  const seconds = (performance.now() - started) / 1000;
  if (failure !== undefined) {
    // A wrong declaration already names the class; everything else is said as "X failed[ on row K]: ...".
    const error =
      failure instanceof ProcessorError || (failure instanceof ImproperlyConfigured && failedRow === undefined)
        ? failure
        : new ProcessorError(Class.name, failure, failedRow);
    logger.error({ rows, seconds: round(seconds) }, `Failed ${kind}: ${error.message}`);
    return { processor: Class.name, kind, status: 'failed', rows, seconds, error };
  }
  logger.info({ rows, seconds: round(seconds) }, `Done ${kind}`);
  return { processor: Class.name, kind, status: 'ok', rows, seconds };
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

async function runLoader(loader: Loader, context: RunContext, chunkSize: number): Promise<{ rows: number; failure?: unknown }> {
  let stored = 0;
  let inChunk = 0;
  let error: unknown;
  await context.engine.inTransaction(async () => loader.setup());
  let tx = await context.engine.begin();
  try {
    let produced: unknown = loader.generate();
    if (isThenable(produced)) produced = await produced;
    await storeProduced(loader, () => tx, produced as Generated, async () => {
      stored += 1;
      if (++inChunk >= chunkSize) {
        await tx.commit();
        context.onProgress?.(stored);
        inChunk = 0;
        tx = await context.engine.begin();
      }
    });
    await tx.commit();
    context.onProgress?.(stored);
  } catch (caught) {
    error = caught;
    await tx.rollback();
    stored -= inChunk;
  } finally {
    try {
      await context.engine.inTransaction(async () => loader.teardown(error));
    } catch (caught) {
      error ??= caught;
    }
  }
  return error === undefined ? { rows: stored } : { rows: stored, failure: error };
}

/** Rows not yet announced by this alert: an anti-join on corral_alerted, in SQL. */
function notYetAlerted(alertName: string, Model: ModelClass, engine: Engine): Restriction {
  const keyExpression =
    Model.primaryKey.length === 1
      ? `CAST(?? AS TEXT)`
      : Model.primaryKey.map(() => 'CAST(?? AS TEXT)').join(engine.dialect === 'sqlite' ? ' || char(31) || ' : ' || chr(31) || ');
  const keyColumns = Model.primaryKey.map((name) => `${Model.table}.${name}`);
  return (query) => {
    query.whereNotExists(function () {
      this.select(engine.knex.raw('1'))
        .from(Alerted.table)
        .where(`${Alerted.table}.alert`, alertName)
        .andWhere(`${Alerted.table}.model_table`, Model.table)
        .andWhereRaw(`${Alerted.table}.model_key = ${keyExpression}`, keyColumns);
    });
  };
}

/** The row's key as SQL's CAST(... AS TEXT) writes it, so the anti-join finds it. */
export function alertedKey(Model: ModelClass, row: object, dialect: Dialect): string {
  return Model.primaryKey.map((name) => String(toDb(Model.columns[name]!.spec, (row as Record<string, unknown>)[name], dialect))).join('\x1f');
}

const ALERTABLE_KEYS = new Set(['integer', 'bigint', 'string', 'text']);

async function runOverRows(
  processor: Step | Alert,
  Class: typeof Step | typeof Alert,
  Model: ModelClass,
  context: RunContext,
  chunkSize: number,
): Promise<{ rows: number; failure?: unknown; failedRow?: string }> {
  const isAlert = processor instanceof Alert;
  const endpoints = isAlert ? (processor as Alert).endpoints : [];
  const workSet = new WorkSet({
    Model,
    conditions: Class.conditions ?? [],
    ordering: Class.ordering,
    restriction: isAlert ? notYetAlerted(Class.name, Model, context.engine) : undefined,
    chunkSize,
  });
  let rows = 0;
  let failure: unknown;
  let failedRow: string | undefined;
  const setUp: { teardown(error?: unknown): void | Promise<void> }[] = [];
  try {
    await context.engine.inTransaction(async () => {
      await processor.setup();
      setUp.push(processor);
      for (const endpoint of endpoints) {
        await endpoint.setup(processor as Alert);
        setUp.push(endpoint);
      }
    });
    while (!workSet.done) {
      const tx = await context.engine.begin();
      let current: ModelInstance | undefined;
      try {
        const chunk = await workSet.next(tx.db);
        for (const raw of chunk) {
          current = hydrate(Model, raw, context.engine.dialect);
          if (isAlert) {
            for (const endpoint of endpoints) {
              const delivered = endpoint.process(current);
              if (isThenable(delivered)) await delivered;
            }
            await tx.save(new Alerted({ alert: Class.name, model_table: Model.table, model_key: alertedKey(Model, current, context.engine.dialect), created_at: new Date() }));
          } else {
            let produced: unknown = (processor as Step).process(current);
            if (isThenable(produced)) produced = await produced;
            await storeProduced(processor, () => tx, produced as StepResult, () => undefined);
            await tx.save(current);
          }
        }
        current = undefined;
        await tx.commit();
        rows += chunk.length;
        context.onProgress?.(rows);
      } catch (error) {
        await tx.rollback();
        failedRow = current ? describeKey(Model, current) : undefined;
        throw error;
      }
    }
  } catch (error) {
    failure = error;
  } finally {
    // Endpoints close before the processor, in reverse order of opening.
    for (const item of setUp.reverse()) {
      try {
        await context.engine.inTransaction(async () => item.teardown(failure));
      } catch (error) {
        failure ??= error;
      }
    }
  }
  return { rows, failure, failedRow };
}
