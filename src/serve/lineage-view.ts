/**
 * The lineage graph of the status page: docs/lineage.ts's graph, each processor
 * coloured by its state and labelled with its backlog, laid out by Graphviz
 * (WebAssembly) into SVG. The layout is redone only when a label or colour changed.
 */
import { lineageDot, type Lineage, type NodeState, type NodeTone } from '../docs/lineage.js';
import { dotToSvg } from '../docs/render-graph.js';
import type { ProcessorView } from './snapshot.js';

/** The SVG document as an element of the page (no prolog, doctype or comments). pipeline-doc.ts has the same, but loads the TypeScript compiler. */
const element = (svg: string) => svg.replace(/<\?xml[^>]*\?>/g, '').replace(/<!DOCTYPE[^>]*>/gi, '').replace(/<!--[\s\S]*?-->/g, '').trim();

const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/**
 * The worst thing first: workers stale or dead, quarantined rows or a failed last
 * run need a human (`broken`); rows retrying (`failing`); then at work, waiting, done.
 */
export function toneOf(p: ProcessorView): NodeTone {
  if (p.staleWorkers > 0 || p.deadWorkers > 0 || p.quarantined > 0 || p.lastRun?.status === 'failed' || p.lastRun?.status === 'dead') return 'broken';
  if (p.retrying > 0) return 'failing';
  if (p.running > 0) return 'running';
  if (p.backlog !== null && p.backlog > 0) return 'waiting';
  return p.lastRun ? 'ok' : 'idle';
}

export function stateOf(p: ProcessorView): NodeState {
  const lines: string[] = [];
  if (p.backlog !== null) lines.push(`backlog ${p.backlog.toLocaleString('en-US')}`);
  if (p.running > 0) lines.push(`${count(p.running, 'worker')} running, ${p.inFlight.toLocaleString('en-US')} in flight`);
  if (p.retrying > 0) lines.push(`${count(p.retrying, 'row')} retrying`);
  if (p.quarantined > 0) lines.push(`${count(p.quarantined, 'row')} quarantined`);
  if (p.staleWorkers + p.deadWorkers > 0) lines.push(`${count(p.staleWorkers + p.deadWorkers, 'worker')} stale or dead`);
  if (!p.lastRun) lines.push('never ran');
  else if (p.running === 0) lines.push(`last run ${p.lastRun.status}`);
  return { tone: toneOf(p), lines };
}

/** Lays out the page's graph; the last layout is kept and reused while nothing changed. */
export class LineageRenderer {
  private lastDot: string | undefined;
  private lastSvg: string | undefined;

  constructor(
    /** Replaced when the runs have taught new writes (server.ts asks now and then). */
    public lineage: Lineage,
    private readonly title: string,
  ) {}

  async svg(processors: readonly ProcessorView[]): Promise<string> {
    const states = new Map(processors.map((p) => [p.name, stateOf(p)]));
    const dot = lineageDot(this.lineage, { title: this.title, states });
    if (dot !== this.lastDot || this.lastSvg === undefined) {
      this.lastSvg = element(await dotToSvg(dot));
      this.lastDot = dot;
    }
    return this.lastSvg;
  }
}
