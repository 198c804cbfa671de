/**
 * The one family of user-facing errors. The CLI prints a CorralError as a single
 * `Error: <message>` line (plus its hint) and exits with its exit code; anything
 * else reaching the top is a bug and is printed with its stack.
 */
export class CorralError extends Error {
  /** Stable machine-readable code, e.g. `CORRAL_IMPROPERLY_CONFIGURED`. */
  readonly code: string;
  /** What the user can do about it, printed after the message. */
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: { code?: string; hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'CORRAL_ERROR';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A setting, a model or a processor class is wrong: the fix is in the pipeline's code. */
export class ImproperlyConfigured extends CorralError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, code: 'CORRAL_IMPROPERLY_CONFIGURED' });
  }
}

/** Bad command-line input: unknown names, bad option values. */
export class CommandError extends CorralError {
  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { ...options, code: 'CORRAL_COMMAND_ERROR' });
  }
}

/** The database is unreachable, a table is missing, a statement failed. */
export class DBError extends CorralError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, code: 'CORRAL_DB_ERROR' });
  }
}

/** A value given to the framework (a name, a yielded object) is not acceptable. */
export class ValidationError extends CorralError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, code: 'CORRAL_VALIDATION_ERROR' });
  }
}

/**
 * A processor failed. Names the processor and, when the failure happened on a row,
 * that row's primary key, so one line tells the user where to look.
 */
export class ProcessorError extends CorralError {
  readonly processor: string;
  readonly rowKey: string | undefined;

  constructor(processor: string, cause: unknown, rowKey?: string, hint?: string) {
    const where = rowKey === undefined ? '' : ` on row ${rowKey}`;
    hint ??= cause instanceof CorralError ? cause.hint : undefined;
    super(`${processor} failed${where}: ${describeError(cause)}`, { code: 'CORRAL_PROCESSOR_FAILED', cause, ...(hint ? { hint } : {}) });
    this.processor = processor;
    this.rowKey = rowKey;
  }
}

/** The message of any thrown value, for one-line reports. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
