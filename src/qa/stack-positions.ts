/**
 * Stack positions in the pipeline's own TypeScript lines, inside a vitest worker.
 *
 * tsx compiles each pipeline module to one line of JavaScript with an inline source
 * map, and Node maps stacks through it (`process.setSourceMapsEnabled`) only while
 * nobody has set `Error.prepareStackTrace`. vitest sets it, to map the modules vite
 * compiled, and knows nothing of tsx's maps: a failing assertion was reported at
 * `tests.ts:1:1122`. This wraps vitest's formatter and rewrites each position Node
 * holds a source map for. It runs only when a stack is formatted (a failure), never on
 * the success path.
 */
import { findSourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

// `    at fn (file:///p/tests.ts:1:1122)` or `    at /p/tests.ts:1:1122`
const POSITION = /((?:file:\/\/)?\/[^\s():]+):(\d+):(\d+)/g;

/** One position through Node's source map of its module, or unchanged. */
export function originalPosition(location: string, line: number, column: number): string | undefined {
  const map = findSourceMap(location);
  if (!map) return undefined;
  const entry = map.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
  if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) return undefined;
  const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : entry.originalSource;
  return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
}

/** The `at` lines of a formatted stack, their positions mapped where Node has a source map. */
export function mapStackText(stack: string): string {
  return stack
    .split('\n')
    .map((line) =>
      /^\s+at /.test(line) ? line.replace(POSITION, (whole, location: string, l: string, c: string) => originalPosition(location, Number(l), Number(c)) ?? whole) : line,
    )
    .join('\n');
}

let installed = false;

/** Wraps the stack formatter in place (vitest's); without one, Node maps stacks itself. */
export function mapStacksThroughNodeSourceMaps(): void {
  const inner = Error.prepareStackTrace;
  if (installed || inner === undefined) return;
  installed = true;
  Error.prepareStackTrace = (error, callSites) => {
    const formatted: unknown = inner(error, callSites);
    return typeof formatted === 'string' ? mapStackText(formatted) : formatted;
  };
}
