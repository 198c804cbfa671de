/**
 * Graphviz without a system Graphviz: DOT → SVG with @viz-js/viz (Graphviz
 * compiled to WebAssembly), SVG → PNG with @resvg/resvg-js (a prebuilt binary
 * shipped inside its npm package). Nothing is downloaded or compiled.
 */
import fs from 'node:fs';
import { CorralError } from '../core/errors.js';

export type GraphFormat = 'dot' | 'svg' | 'png';

type Viz = Awaited<ReturnType<typeof import('@viz-js/viz').instance>>;
let viz: Promise<Viz> | undefined;

function graphviz(): Promise<Viz> {
  viz ??= import('@viz-js/viz').then((module) => module.instance());
  return viz;
}

/** The Graphviz version the renderer uses. */
export async function graphvizVersion(): Promise<string> {
  return (await graphviz()).graphvizVersion;
}

/** Lays out a DOT graph and returns it as an SVG document; a DOT error throws with Graphviz's messages. */
export async function dotToSvg(dot: string): Promise<string> {
  const result = (await graphviz()).render(dot, { format: 'svg', engine: 'dot' });
  if (result.status !== 'success') {
    const messages = result.errors.map((e) => `${e.level ?? 'error'}: ${e.message}`).join('; ');
    throw new CorralError(`Graphviz could not render the graph: ${messages || 'unknown error'}`);
  }
  return result.output;
}

export interface PngOptions {
  /** Pixels per SVG point. (Default: 2, about 144 dpi, sharp in print and on screens) */
  readonly scale?: number;
  /** (Default: white) */
  readonly background?: string;
}

/**
 * The sans-serif family to draw with: Graphviz measures "Helvetica" text with
 * Arial-like metrics, so the metric-compatible Liberation Sans when it is installed;
 * else DejaVu Sans (Debian's default), since a family that is missing makes resvg
 * fall back to a serif font.
 */
function sansFamily(): string {
  const liberation = ['/usr/share/fonts/truetype/liberation', '/usr/share/fonts/truetype/liberation2', '/usr/share/fonts/liberation-sans'];
  return liberation.some((folder) => fs.existsSync(folder)) || process.platform !== 'linux' ? 'Liberation Sans' : 'DejaVu Sans';
}

/** Rasterises an SVG with the fonts installed on the machine. */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const family = sansFamily();
  const renderer = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: options.scale ?? 2 },
    background: options.background ?? 'white',
    font: { loadSystemFonts: true, sansSerifFamily: family, defaultFontFamily: family },
    logLevel: 'off',
  });
  return renderer.render().asPng();
}

/** DOT text in the given format: the text itself, an SVG document, or PNG bytes. */
export async function renderGraph(dot: string, format: GraphFormat, options: PngOptions = {}): Promise<string | Buffer> {
  if (format === 'dot') return dot;
  const svg = await dotToSvg(dot);
  return format === 'svg' ? svg : svgToPng(svg, options);
}
