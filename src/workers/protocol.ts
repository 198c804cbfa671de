import type { ConnectionConfig } from '../conf/connection.js';
import type { LogFormat, LogLevel } from '../core/logger.js';
import type { RowFailure } from '../db/bookkeeping/failures.js';
import type { ProcessorKind } from '../run/processor-class.js';

/**
 * Parent → child: what to run. Sent once, right after the fork; the child opens its
 * environment and then waits for `start` (run-all forks the children of every phase
 * at once, so later phases do not wait for their processes to start).
 */
export interface RunMessage {
  readonly type: 'run';
  readonly settingsFile: string;
  readonly kind: ProcessorKind;
  readonly name: string;
  readonly logLevel: LogLevel | undefined;
  readonly logFormat: LogFormat | undefined;
  /** Set when the parent works on another database than `connection` (test mode). */
  readonly connection: ConnectionConfig | undefined;
  /** This worker's share of the rows, when `procs` > 1. */
  readonly partition: { readonly index: number; readonly count: number } | undefined;
  /** Import the pipeline from its compile cache, as the parent did. */
  readonly compiled: boolean;
  /** The compiled settings module the parent imported (conf/load.ts `compiledModule`). */
  readonly compiledModule: string | undefined;
  /**
   * The parent's environment variables and working folder as it hands the work over: a
   * worker forked ahead (workers/spare.ts) started before the entry point set them
   * (`CORRAL_SETTINGS`, the colour settled, a pipeline's own), and takes them now.
   */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

/** Parent → child: begin the work (the child's phase has come). */
export interface StartMessage {
  readonly type: 'start';
}

/**
 * Parent → child: stop gracefully (the run got SIGINT or SIGTERM). A message rather than
 * a signal: a child still starting Node has no handler yet, and a signal would kill it
 * before it could record its run; the message waits in the channel until it can be read.
 */
export interface StopMessage {
  readonly type: 'stop';
}

export type ParentMessage = RunMessage | StartMessage | StopMessage;

/** Child → parent. */
export type ChildMessage =
  | { readonly type: 'progress'; readonly rows: number }
  | {
      readonly type: 'done';
      readonly status: 'ok' | 'stopped';
      readonly rows: number;
      readonly seconds: number;
      readonly failedRows: number;
      /** The first row failures, for the summary. */
      readonly rowFailures: readonly RowFailure[];
    }
  | {
      readonly type: 'failed';
      readonly rows: number;
      readonly seconds: number;
      readonly message: string;
      readonly hint: string | undefined;
      readonly stack: string | undefined;
    };
