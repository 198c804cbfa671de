import { boolean, datetime, integer, string, text } from '../columns.js';
import { model } from '../model.js';

/**
 * Which row each alert has already announced. One row per (alert, table, key), so
 * an alert finds its new rows with an anti-join instead of loading every id it
 * ever sent (the original kept a growing pickled list).
 *
 * Keyed by (alert, table, key) itself, with no numbered id: each alerted row commits
 * its record alone (the crash bound, run/execute-alert.ts), and on SQLite a table
 * WITHOUT ROWID (db/schema.ts) makes that commit write one page instead of three
 * (the table, its unique index, and AUTOINCREMENT's sqlite_sequence). Tables an
 * older corral created keep their `id` column and unique index: nothing reads `id`,
 * and the database numbers it.
 */
export class Alerted extends model(
  'corral_alerted',
  {
    alert: string(200).primaryKey(),
    model_table: string(200).primaryKey(),
    model_key: text().primaryKey(),
    created_at: datetime().notNull(),
  },
  { description: 'Rows already announced by each alert.' },
) {}

/**
 * Rows whose processing threw: retried on later runs with backoff, up to
 * `maxAttempts`, then quarantined so the processor moves on.
 */
export class Failure extends model(
  'corral_failures',
  {
    id: integer().primaryKey(),
    processor: string(200).notNull(),
    model_table: string(200).notNull(),
    model_key: text().notNull(),
    error: text().notNull(),
    stack: text(),
    attempts: integer().notNull(),
    first_at: datetime().notNull(),
    last_at: datetime().notNull(),
    /** Not retried before this time. */
    next_at: datetime().notNull(),
    quarantined: boolean().notNull().default(false),
  },
  { uniques: [['processor', 'model_table', 'model_key']], description: 'Rows that failed, their error and retry state.' },
) {}

/** One row per processor run: who ran what, where, how far it got and how it ended. */
export class Run extends model(
  'corral_runs',
  {
    id: integer().primaryKey(),
    processor: string(200).notNull(),
    kind: string(20).notNull(),
    host: string(200).notNull(),
    pid: integer().notNull(),
    /** `index/count` of the row partition this worker handled, when several share a processor. */
    partition: string(50),
    started_at: datetime().notNull(),
    /** Written by the run's heartbeat (a thread of its own on PostgreSQL): a running worker whose heartbeat is older than the lease is dead. */
    heartbeat_at: datetime().notNull(),
    ended_at: datetime(),
    rows_done: integer().notNull().default(0),
    rows_failed: integer().notNull().default(0),
    /** Rows of the chunk in flight. */
    in_flight: integer().notNull().default(0),
    /** running, ok, failed, stopped, or dead: its heartbeat stopped and another process ended its sessions. */
    status: string(20).notNull(),
    error: text(),
    /**
     * PostgreSQL: the `application_name` of the worker's sessions, by which a process
     * that finds its heartbeat older than the lease ends them. Added to older databases by `createdb`.
     */
    session: string(63),
    /**
     * The tables this run wrote, as a JSON array (processors/written-tables.ts): the lineage
     * learned from what ran. Added to older databases by `createdb`.
     */
    wrote: text(),
  },
  { indexes: [['processor', 'started_at']], description: 'Run history of every processor.' },
) {}

/** Tables corral itself keeps in every pipeline database. */
export const frameworkModels = [Alerted, Failure, Run] as const;
