/**
 * Plain-text tables for listings (`lssteps`, summaries). Box drawn with ASCII so the
 * output pastes cleanly into logs, e-mails and Markdown code blocks.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (char: string) => '+' + widths.map((w) => char.repeat(w + 2)).join('+') + '+';
  const format = (cells: readonly string[]) =>
    '| ' + widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ') + ' |';
  return [line('-'), format(header), line('='), ...rows.map(format), line('-')].join('\n') + '\n';
}
