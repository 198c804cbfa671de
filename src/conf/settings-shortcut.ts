/**
 * The settings check without zod, for settings that are plainly valid. zod costs
 * every command line some 50–100 ms of CPU (loading it and building the schema),
 * most of an out-mode command's own time. `plainlyValid` answers true only for
 * settings the schema of settings.ts surely accepts, and false for anything else
 * (an error, or a shape it does not judge: `email`, `qai`, a class instance as a
 * connection); the schema then decides and words the error, as before. So the
 * shortcut changes how fast settings are accepted, never which, nor any message.
 * test/conf/settings-shortcut.test.ts holds it to the schema.
 */

/** corral's own top-level settings keys: the schema's (settings.ts checks the two agree when it builds the schema). */
export const SETTING_KEYS: readonly string[] = [
  'name', 'description', 'connection', 'testConnection', 'models', 'loader', 'steps', 'alerts', 'commands', 'pipelineSetup',
  'chunkSize', 'maxAttempts', 'retryDelaySeconds', 'leaseSeconds', 'reconnectSeconds', 'procs', 'logLevel', 'logFormat',
  'email', 'shellLocals', 'qai',
];

export const isClass = (value: unknown): boolean => typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
const LOG_FORMATS = new Set(['pretty', 'json']);
const NAME = /^[A-Za-z_][\w-]*$/;

/** An object literal (or `Object.create(null)`), with no symbol keys: what zod's object and record surely accept. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (proto === Object.prototype || proto === null) && Object.getOwnPropertySymbols(value).length === 0;
}

const isModuleNamespace = (value: unknown) => typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object Module]';
const optional = (value: unknown, check: (v: unknown) => boolean) => value === undefined || check(value);
const integerIn = (min: number, max: number) => (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const finiteFrom = (min: number) => (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= min;
const connection = (v: unknown) => (typeof v === 'string' && v.length > 0) || (isPlainObject(v) && typeof v.client === 'string');

function classList(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (!isClass(value[i])) return false;
  return true;
}

function procsRecord(value: unknown): boolean {
  return isPlainObject(value) && Object.values(value).every(integerIn(1, 256));
}

/** True when the schema of settings.ts surely accepts `user`; false means: ask the schema. */
export function plainlyValid(user: object): boolean {
  if (!isPlainObject(user)) return false;
  const s = user;
  return (
    typeof s.name === 'string' &&
    NAME.test(s.name) &&
    optional(s.description, (v) => typeof v === 'string') &&
    optional(s.connection, connection) &&
    optional(s.testConnection, connection) &&
    (Array.isArray(s.models) || isModuleNamespace(s.models) || isPlainObject(s.models)) &&
    optional(s.loader, isClass) &&
    optional(s.steps, classList) &&
    optional(s.alerts, classList) &&
    optional(s.commands, classList) &&
    optional(s.pipelineSetup, isClass) &&
    optional(s.chunkSize, integerIn(1, 1_000_000)) &&
    optional(s.maxAttempts, integerIn(1, 1000)) &&
    optional(s.retryDelaySeconds, finiteFrom(0)) &&
    optional(s.leaseSeconds, finiteFrom(1)) &&
    optional(s.reconnectSeconds, finiteFrom(0)) &&
    optional(s.procs, procsRecord) &&
    optional(s.logLevel, (v) => LOG_LEVELS.has(v as string)) &&
    optional(s.logFormat, (v) => LOG_FORMATS.has(v as string)) &&
    s.email === undefined &&
    s.shellLocals === undefined &&
    s.qai === undefined
  );
}
