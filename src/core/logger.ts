import type { Logger, LevelWithSilent, pino as Pino } from 'pino';
import { colourWanted, paint, type Paint } from './colour.js';
import { redactSecrets } from './redact.js';
import { requireVendor } from './vendor.js';

export type LogFormat = 'pretty' | 'json';
export type LogLevel = LevelWithSilent;
export type { Logger };

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'name', 'processor']);

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** One readable line per record: `[pipe INFO 14:03:21] MyStep: message key=value`. */
export function formatPretty(record: Record<string, unknown>, colours: Paint = paint(false)): string {
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now());
  const clock = `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())}`;
  const levelName = LEVEL_NAMES[Number(record.level)] ?? String(record.level);
  const levelNumber = Number(record.level);
  const level = levelNumber >= 50 ? colours.red(levelName) : levelNumber >= 40 ? colours.yellow(levelName) : levelNumber <= 20 ? colours.dim(levelName) : levelName;
  const scope = typeof record.processor === 'string' ? `${record.processor}: ` : '';
  const extras = Object.entries(record)
    .filter(([key]) => !HIDDEN_KEYS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const name = typeof record.name === 'string' ? `${record.name} ` : '';
  return `[${name}${level} ${clock}] ${scope}${String(record.msg ?? '')}${extras.length ? ' ' + extras.join(' ') : ''}\n`;
}

/** Where log lines go instead of stderr while a status line is drawn (workers/progress.ts). */
let interceptor: ((line: string) => void) | undefined;

/**
 * While a status line is on the terminal, every log record of this process goes to
 * `write`, which clears the line, writes the record and draws the line again;
 * `undefined` gives the records their stderr back. One per process: there is one
 * terminal line.
 */
export function interceptLogLines(write: ((line: string) => void) | undefined): void {
  interceptor = write;
}

function toStderr(line: string): void {
  if (interceptor) interceptor(line);
  else if (!process.stderr.destroyed) process.stderr.write(line);
}

// pino from its ~30 files costs every process ~50 ms of CPU; dist/vendor/pino.cjs, the
// same pino bundled into one file by scripts/bundle-vendor.js at build time, about
// half (core/vendor.ts; pino itself when corral runs from its sources).
let pino: typeof Pino | undefined;

/** pino itself, loaded the first time; also a worker's way to load it while it waits (workers/child.ts). */
export function loadPino(): typeof Pino {
  return (pino ??= requireVendor<{ pino: typeof Pino }>('pino', 'pino').pino);
}

/**
 * Logs go to stderr: human-readable lines by default, one JSON object per line with
 * `json` (for log shippers). Pretty printing is done here rather than with
 * pino-pretty: it keeps start-up fast and runs synchronously in forked children,
 * so lines from several processes interleave whole.
 */
export function createLogger(options: { name: string; level: LogLevel; format: LogFormat; write?: (line: string) => void; colour?: boolean }): Logger {
  // Every line is redacted: a logged error can quote a connection URL with its password.
  const sink = options.write ?? toStderr;
  const write = (line: string) => sink(redactSecrets(line));
  // Pretty lines on a terminal colour their level; a file, a pipe or NO_COLOR get plain text.
  const colours = paint(options.colour ?? (options.write === undefined && colourWanted(process.stderr)));
  const destination =
    options.format === 'json'
      ? { write }
      : {
          write(line: string) {
            write(formatPretty(JSON.parse(line) as Record<string, unknown>, colours));
          },
        };
  return lazily(() => loadPino()({ name: options.name, level: options.level, base: { pid: process.pid } }, destination));
}

/**
 * A logger made on first use: most commands of a run's parent process and every
 * listing log nothing, and so never load pino. The methods are bound to the real
 * logger once (pino reads its state through `this`).
 */
function lazily(make: () => Logger): Logger {
  let real: Logger | undefined;
  const bound = new Map<PropertyKey, unknown>();
  const target = () => (real ??= make());
  return new Proxy({} as Logger, {
    get(_empty, property) {
      const logger = target();
      const value: unknown = Reflect.get(logger, property, logger);
      if (typeof value !== 'function') return value;
      let method = bound.get(property);
      if (method === undefined || (method as { original?: unknown }).original !== value) {
        method = Object.assign((value as (...args: unknown[]) => unknown).bind(logger), { original: value });
        bound.set(property, method);
      }
      return method;
    },
    set: (_empty, property, value) => Reflect.set(target(), property, value),
    has: (_empty, property) => Reflect.has(target(), property),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor: (_empty, property) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(target(), property);
      // A proxy may not report a property its target lacks as not configurable.
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}
