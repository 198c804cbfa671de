import { paint, type Paint } from './colour.js';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let wideWidth: ((text: string) => number) | undefined;

/**
 * Terminal columns of `text`. Plain ASCII is its length; anything else (CJK and emoji
 * take two columns, combining marks none) asks string-width, loaded on first need: its
 * Unicode tables cost ~15 ms of start-up that `lssteps` and friends rarely need.
 */
function stringWidth(text: string): number {
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  wideWidth ??= (require('string-width') as { default: (text: string) => number }).default;
  return wideWidth(text);
}

/**
 * Plain-text tables for listings (`lssteps`, summaries, the SQL prompt). Box drawn
 * with ASCII so the output pastes cleanly into logs, e-mails and Markdown code blocks.
 * Widths are terminal columns, not UTF-16 units: a CJK character or an emoji takes
 * two columns, a combining accent none, so such cells line up with the others.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], colours: Paint = paint(false)): string {
  const widths = header.map((h, i) => Math.max(stringWidth(h), ...rows.map((r) => stringWidth(r[i] ?? ''))));
  const line = (char: string) => '+' + widths.map((w) => char.repeat(w + 2)).join('+') + '+';
  const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - stringWidth(text)));
  const format = (cells: readonly string[]) => '| ' + widths.map((w, i) => pad(cells[i] ?? '', w)).join(' | ') + ' |';
  // The header is padded as plain text first: escape codes take no columns.
  const title = '| ' + widths.map((w, i) => colours.bold(pad(header[i] ?? '', w))).join(' | ') + ' |';
  return [line('-'), title, line('='), ...rows.map(format), line('-')].join('\n') + '\n';
}
