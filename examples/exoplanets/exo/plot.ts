/**
 * A log-log scatter plot as a standalone SVG document, written by hand so the
 * pipeline needs no plotting library.
 */

export interface ScatterPoint {
  readonly x: number;
  readonly y: number;
  /** Shown as the point's tooltip. */
  readonly label?: string;
}

export interface ScatterOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** (Default: 640) */
  readonly width?: number;
  /** (Default: 480) */
  readonly height?: number;
}

const MARGIN = { left: 80, right: 30, top: 50, bottom: 65 };

const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (entity) => Object.keys(XML_ESCAPES).find((c) => XML_ESCAPES[c] === entity)!);
}

/** Whole decades covering `values` (positive numbers): [lo, hi] exponents, at least one decade apart. */
function decades(values: readonly number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  const lo = Math.floor(Math.log10(Math.min(...values)));
  let hi = Math.ceil(Math.log10(Math.max(...values)));
  if (hi <= lo) hi = lo + 1;
  return [lo, hi];
}

/** A tick label for 10^k: plain digits near 1, a power of ten otherwise. */
function decadeLabel(k: number): string {
  if (k >= -3 && k <= 4) return String(Number(`1e${k}`));
  return `10<tspan dy="-6" font-size="9">${k}</tspan>`;
}

const num = (value: number) => String(Math.round(value * 100) / 100);

/**
 * The SVG text of a scatter plot of `points` on logarithmic axes, with a tick
 * and a grid line at every decade. Points that are not positive cannot be shown
 * on a log axis and are left out; no points gives an empty (valid) plot.
 */
export function logScatterSvg(points: readonly ScatterPoint[], options: ScatterOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const shown = points.filter((p) => p.x > 0 && p.y > 0 && Number.isFinite(p.x) && Number.isFinite(p.y));
  const [xlo, xhi] = decades(shown.map((p) => p.x));
  const [ylo, yhi] = decades(shown.map((p) => p.y));
  const left = MARGIN.left;
  const right = width - MARGIN.right;
  const top = MARGIN.top;
  const bottom = height - MARGIN.bottom;
  const sx = (x: number) => left + ((Math.log10(x) - xlo) / (xhi - xlo)) * (right - left);
  const sy = (y: number) => bottom - ((Math.log10(y) - ylo) / (yhi - ylo)) * (bottom - top);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`  <title>${escapeXml(options.title)}</title>`);
  out.push(`  <rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);

  // Grid, ticks and tick labels: a major tick per decade, minor ticks at 2..9 times it.
  const xStep = Math.max(1, Math.ceil((xhi - xlo) / 10));
  const yStep = Math.max(1, Math.ceil((yhi - ylo) / 10));
  out.push('  <g stroke="#dddddd" stroke-width="1">');
  for (let k = xlo; k <= xhi; k += xStep) out.push(`    <line x1="${num(sx(10 ** k))}" y1="${top}" x2="${num(sx(10 ** k))}" y2="${bottom}"/>`);
  for (let k = ylo; k <= yhi; k += yStep) out.push(`    <line x1="${left}" y1="${num(sy(10 ** k))}" x2="${right}" y2="${num(sy(10 ** k))}"/>`);
  out.push('  </g>');
  out.push('  <g stroke="black" stroke-width="1">');
  for (let k = xlo; k <= xhi; k++) {
    out.push(`    <line x1="${num(sx(10 ** k))}" y1="${bottom}" x2="${num(sx(10 ** k))}" y2="${bottom + 6}"/>`);
    if (k < xhi) for (let m = 2; m <= 9; m++) out.push(`    <line x1="${num(sx(m * 10 ** k))}" y1="${bottom}" x2="${num(sx(m * 10 ** k))}" y2="${bottom + 3}"/>`);
  }
  for (let k = ylo; k <= yhi; k++) {
    out.push(`    <line x1="${left - 6}" y1="${num(sy(10 ** k))}" x2="${left}" y2="${num(sy(10 ** k))}"/>`);
    if (k < yhi) for (let m = 2; m <= 9; m++) out.push(`    <line x1="${left - 3}" y1="${num(sy(m * 10 ** k))}" x2="${left}" y2="${num(sy(m * 10 ** k))}"/>`);
  }
  out.push(`    <rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none"/>`);
  out.push('  </g>');
  out.push('  <g fill="black">');
  for (let k = xlo; k <= xhi; k += xStep) out.push(`    <text x="${num(sx(10 ** k))}" y="${bottom + 20}" text-anchor="middle">${decadeLabel(k)}</text>`);
  for (let k = ylo; k <= yhi; k += yStep) out.push(`    <text x="${left - 10}" y="${num(sy(10 ** k) + 4)}" text-anchor="end">${decadeLabel(k)}</text>`);
  out.push('  </g>');

  // Title and axis labels.
  out.push(`  <text x="${num((left + right) / 2)}" y="${top - 20}" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`);
  out.push(`  <text x="${num((left + right) / 2)}" y="${height - 20}" text-anchor="middle" font-size="13">${escapeXml(options.xLabel)}</text>`);
  out.push(
    `  <text x="20" y="${num((top + bottom) / 2)}" text-anchor="middle" font-size="13" transform="rotate(-90 20 ${num((top + bottom) / 2)})">${escapeXml(options.yLabel)}</text>`,
  );
  if (shown.length === 0) {
    out.push(`  <text x="${num((left + right) / 2)}" y="${num((top + bottom) / 2)}" text-anchor="middle" fill="#888888">no points</text>`);
  }

  // The points.
  out.push('  <g fill="#1f77b4" fill-opacity="0.75" stroke="#0b3c5d" stroke-width="0.8">');
  for (const p of shown) {
    const tip = p.label !== undefined ? `<title>${escapeXml(p.label)}</title>` : '';
    // data-x/data-y keep the exact values, so pointsInSvg can read the plot back.
    out.push(`    <circle cx="${num(sx(p.x))}" cy="${num(sy(p.y))}" r="4" data-x="${p.x}" data-y="${p.y}">${tip}</circle>`);
  }
  out.push('  </g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The points of a plot written by logScatterSvg (none for any other text). */
export function pointsInSvg(svg: string): ScatterPoint[] {
  const points: ScatterPoint[] = [];
  for (const match of svg.matchAll(/<circle [^>]*data-x="([^"]+)" data-y="([^"]+)"[^>]*>(?:<title>([^<]*)<\/title>)?/g)) {
    const x = Number(match[1]);
    const y = Number(match[2]);
    if (Number.isFinite(x) && Number.isFinite(y)) points.push(match[3] !== undefined ? { x, y, label: unescapeXml(match[3]) } : { x, y });
  }
  return points;
}
