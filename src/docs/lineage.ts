/**
 * The lineage of a pipeline: which model each processor reads (its `model` and
 * conditions) and which models it writes, drawn loader → model → step → model →
 * alert → endpoint, in Graphviz DOT (`create-models-diagram --lineage`, `create-doc`,
 * and the status page of `serve`, which colours each processor by its state).
 *
 * Writes are learned from what the runs wrote (`corral_runs.wrote`, see
 * processors/written-tables.ts) and merged with what a processor declares (`static writes`).
 * An edge only declared is dashed: no run has shown it yet.
 */
import fs from 'node:fs';
import { describeError } from '../core/errors.js';
import type { ConnectionConfig } from '../conf/connection.js';
import type { ResolvedSettings } from '../conf/settings.js';
import type { Condition } from '../db/conditions.js';
import type { ModelClass } from '../db/model.js';
import { isModelClass } from '../db/model.js';
import { Engine } from '../db/engine.js';
import { learnedWrites } from '../db/bookkeeping/wrote.js';
import { Email } from '../processors/endpoints/email.js';
import type { Endpoint } from '../processors/endpoints/endpoint.js';
import { File } from '../processors/endpoints/file.js';
import { Webhook } from '../processors/endpoints/webhook.js';
import type { ProcessorClass } from '../processors/processor.js';
import type { Registry } from '../run/registry.js';
import { dotString, htmlText } from './models-diagram.js';

export type LineageNodeKind = 'loader' | 'model' | 'step' | 'alert' | 'endpoint';

export interface LineageNode {
  /** Unique in the graph, safe as an SVG id: `step_MyStep`, `model_Example`. */
  readonly id: string;
  readonly kind: LineageNodeKind;
  /** The class name (a model's class, or its table when no model declares it). */
  readonly name: string;
  /** A second line: a model's table, an endpoint's target. */
  readonly detail?: string;
}

export interface LineageEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: 'reads' | 'writes' | 'delivers';
  /** Reads: the conditions, in short. */
  readonly label?: string;
  /** Writes: seen in the runs (`learned`), declared (`static writes`), or both. */
  readonly source?: 'learned' | 'declared' | 'both';
}

export interface Lineage {
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly LineageEdge[];
}

/** The tables each processor's runs wrote (processors/written-tables.ts `learnedWrites`). */
export type LearnedWrites = ReadonlyMap<string, ReadonlySet<string>>;

const nodeId = (kind: LineageNodeKind, name: string) => `${kind}_${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;

const shortValue = (value: unknown): string => {
  const text = value === null ? 'null' : typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value);
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
};

/** One condition in a few words: `processed = false`, `mag < 12`, `(query)` for a function. */
export function conditionText(condition: Condition): string {
  if (typeof condition === 'function') return '(query)';
  if (Array.isArray(condition)) {
    const [column, a, b] = condition as unknown[];
    return condition.length === 2 ? `${String(column)} ${a === null ? 'is null' : `= ${shortValue(a)}`}` : `${String(column)} ${String(a)} ${shortValue(b)}`;
  }
  if (typeof (condition as { toSQL?: unknown }).toSQL === 'function') return '(sql)';
  return Object.entries(condition as Record<string, unknown>)
    .map(([column, value]) => (value === null ? `${column} is null` : `${column} = ${shortValue(value)}`))
    .join(' and ');
}

/** Where an endpoint delivers, in a few words; a URL shows only its host (a token may sit in its path or query). */
function endpointDetail(endpoint: Endpoint): string | undefined {
  if (endpoint instanceof File) return typeof endpoint.path === 'string' ? endpoint.path : '(path from settings)';
  if (endpoint instanceof Email) return endpoint.to.length > 2 ? `${endpoint.to.slice(0, 2).join(', ')}, …` : endpoint.to.join(', ');
  if (endpoint instanceof Webhook) {
    if (typeof endpoint.url !== 'string') return '(URL from settings)';
    try {
      return new URL(endpoint.url).host;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The lineage graph of the pipeline: its loader, steps and alerts, the models they
 * read and write, and the alerts' endpoints.
 */
export function pipelineLineage(settings: ResolvedSettings, registry: Registry, learned: LearnedWrites = new Map()): Lineage {
  const nodes = new Map<string, LineageNode>();
  const edges: LineageEdge[] = [];
  const byTable = new Map(settings.models.map((Model) => [Model.table, Model]));
  const modelNode = (table: string): string => {
    const Model = byTable.get(table);
    const id = nodeId('model', table);
    if (!nodes.has(id)) nodes.set(id, { id, kind: 'model', name: Model?.name ?? table, ...(Model && Model.name !== table ? { detail: `table ${table}` } : {}) });
    return id;
  };
  // Models first, in the settings' order: a stable layout from run to run.
  for (const Model of settings.models) modelNode(Model.table);
  // What each kind adds: a step and an alert read their model under their conditions; an alert sends to endpoints.
  interface Entry {
    readonly Class: ProcessorClass;
    readonly kind: 'loader' | 'step' | 'alert';
    readonly reads?: { readonly Model: unknown; readonly conditions: readonly Condition[] | undefined };
    readonly alertTo?: readonly Endpoint[] | undefined;
  }
  const processors: Entry[] = [
    ...(registry.loader ? [{ Class: registry.loader, kind: 'loader' as const }] : []),
    ...registry.steps.map((Class) => ({ Class, kind: 'step' as const, reads: { Model: Class.model, conditions: Class.conditions } })),
    ...registry.alerts.map((Class) => ({ Class, kind: 'alert' as const, reads: { Model: Class.model, conditions: Class.conditions }, alertTo: Class.alertTo })),
  ];
  for (const { Class, kind, reads, alertTo } of processors) {
    const id = nodeId(kind, Class.name);
    nodes.set(id, { id, kind, name: Class.name });
    if (reads) {
      const Read = reads.Model;
      if (isModelClass(Read)) {
        const conditions = reads.conditions ?? [];
        const label = conditions.length === 0 ? 'every row' : conditions.map(conditionText).join(' and ');
        edges.push({ from: modelNode(Read.table), to: id, kind: 'reads', label });
      }
    }
    const declared = new Set((Class.writes ?? []).filter((Model): Model is ModelClass => isModelClass(Model)).map((Model) => Model.table));
    const seen = learned.get(Class.name) ?? new Set<string>();
    for (const table of [...new Set([...seen, ...declared])]) {
      const source = seen.has(table) && declared.has(table) ? 'both' : seen.has(table) ? 'learned' : 'declared';
      edges.push({ from: id, to: modelNode(table), kind: 'writes', source });
    }
    if (alertTo) {
      alertTo.forEach((endpoint, index) => {
        const endpointId = nodeId('endpoint', `${Class.name}_${index}`);
        const detail = endpointDetail(endpoint);
        nodes.set(endpointId, { id: endpointId, kind: 'endpoint', name: endpoint.constructor.name, ...(detail ? { detail } : {}) });
        edges.push({ from: id, to: endpointId, kind: 'delivers' });
      });
    }
  }
  return { nodes: [...nodes.values()], edges };
}

/** How a processor is doing, for the status page: the node's colour and the lines under its name. */
export type NodeTone = 'idle' | 'ok' | 'waiting' | 'running' | 'failing' | 'broken';

export interface NodeState {
  readonly tone: NodeTone;
  readonly lines: readonly string[];
}

/** The fill of each tone; `idle` is the kind's own colour. */
export const TONE_COLOURS: Readonly<Record<Exclude<NodeTone, 'idle'>, string>> = {
  ok: '#d5ecd4',
  waiting: '#fbeec2',
  running: '#cfe2f8',
  failing: '#f8d3ce',
  broken: '#eba39a',
};

const FONT = 'Helvetica';
const KIND_STYLE: Record<LineageNodeKind, { shape: string; fill: string; border: string }> = {
  loader: { shape: 'box', fill: '#e4efe1', border: '#6d8f66' },
  step: { shape: 'box', fill: '#e2e9f3', border: '#5f7895' },
  alert: { shape: 'box', fill: '#f6e6d6', border: '#a67a4f' },
  model: { shape: 'cylinder', fill: '#f4f5f7', border: '#8a98a8' },
  endpoint: { shape: 'note', fill: '#ffffff', border: '#8a98a8' },
};
const KIND_WORD: Record<LineageNodeKind, string> = { loader: 'loader', step: 'step', alert: 'alert', model: 'model', endpoint: 'endpoint' };

export interface LineageDotOptions {
  readonly title?: string;
  /** Processors' states by class name (the status page); none: the kinds' colours. */
  readonly states?: ReadonlyMap<string, NodeState>;
}

function nodeLine(node: LineageNode, state: NodeState | undefined): string {
  const style = KIND_STYLE[node.kind];
  const fill = state && state.tone !== 'idle' ? TONE_COLOURS[state.tone] : style.fill;
  const small = (text: string) => `<BR/><FONT POINT-SIZE="9" COLOR="#4a5662">${htmlText(text)}</FONT>`;
  const kindLine = node.kind === 'model' || node.kind === 'endpoint' ? '' : `<FONT POINT-SIZE="8" COLOR="#6a7682">${KIND_WORD[node.kind].toUpperCase()}</FONT><BR/>`;
  const label = `<${kindLine}${htmlText(node.name)}${node.detail ? small(node.detail) : ''}${(state?.lines ?? []).map(small).join('')}>`;
  const attributes = [
    `id=${dotString(node.id)}`,
    `shape=${style.shape}`,
    `style=${dotString(node.kind === 'model' || node.kind === 'endpoint' ? 'filled' : 'rounded,filled')}`,
    `fillcolor=${dotString(fill)}`,
    `color=${dotString(style.border)}`,
    `label=${label}`,
    `tooltip=${dotString(`${KIND_WORD[node.kind]} ${node.name}${node.detail ? ` (${node.detail})` : ''}`)}`,
  ];
  return `  ${dotString(node.id)} [${attributes.join(', ')}];`;
}

/** The DOT text of a lineage graph, left to right. */
export function lineageDot(lineage: Lineage, options: LineageDotOptions = {}): string {
  const lines: string[] = [];
  lines.push(`digraph ${dotString(options.title ?? 'lineage')} {`);
  const graph = ['rankdir=LR', `fontname=${dotString(FONT)}`, 'fontsize=14', 'nodesep=0.35', 'ranksep=0.65', 'pad=0.25', 'bgcolor="white"'];
  if (options.title) graph.push(`label=<<B>${htmlText(options.title)}</B>>`, 'labelloc="t"', 'labeljust="l"');
  lines.push(`  graph [${graph.join(', ')}];`);
  // No bold names and a wide margin: Graphviz measures with Helvetica's metrics, and the
  // fonts that stand in for it (DejaVu Sans, Liberation Sans) are a little wider.
  lines.push(`  node [fontname=${dotString(FONT)}, fontsize=12, penwidth=1.1, margin="0.22,0.07"];`);
  lines.push(`  edge [fontname=${dotString(FONT)}, fontsize=9, fontcolor="#46525e", arrowhead=vee, arrowsize=0.7, penwidth=1.1];`);
  for (const node of lineage.nodes) lines.push(nodeLine(node, options.states?.get(node.name)));
  // A processor that writes the model it reads (a step updating its rows) would turn
  // the graph back on itself: its read edge points both ways instead.
  const writesBack = new Set(lineage.edges.filter((e) => e.kind === 'writes').map((e) => `${e.to}\0${e.from}`));
  const readsOf = new Set(lineage.edges.filter((e) => e.kind === 'reads').map((e) => `${e.from}\0${e.to}`));
  for (const edge of lineage.edges) {
    const attributes = [`id=${dotString(`${edge.kind}_${edge.from}_${edge.to}`)}`];
    if (edge.kind === 'reads') {
      const back = writesBack.has(`${edge.from}\0${edge.to}`);
      attributes.push(`color=${dotString(back ? '#2e5f8a' : '#6f7c89')}`);
      if (back) attributes.push('dir=both', 'arrowtail=vee');
      if (edge.label) attributes.push(`label=${dotString(edge.label)}`);
      attributes.push(`tooltip=${dotString(`reads ${edge.label ? `where ${edge.label}` : 'every row'}${back ? '; writes back' : ''}`)}`);
    } else if (edge.kind === 'writes') {
      if (readsOf.has(`${edge.to}\0${edge.from}`)) continue;
      attributes.push('color="#2e5f8a"', `tooltip=${dotString(`writes (${edge.source ?? 'learned'})`)}`);
      if (edge.source === 'declared') attributes.push('style=dashed');
    } else {
      attributes.push('color="#a67a4f"', 'style=dotted', 'arrowhead=normal');
    }
    lines.push(`  ${dotString(edge.from)} -> ${dotString(edge.to)} [${attributes.join(', ')}];`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/**
 * `learnedWrites` for a command that opens no database (`create-models-diagram`,
 * `create-doc`): opens the pipeline's database for one read and closes it. A
 * database that does not exist yet, or cannot be reached, has taught nothing: the
 * lineage then shows what the processors declare, and `reason` says why.
 */
export async function learnedWritesOf(connection: ConnectionConfig, leaseSeconds: number): Promise<{ learned: Map<string, Set<string>>; reason?: string }> {
  if (connection.filename && !fs.existsSync(connection.filename)) return { learned: new Map(), reason: `the database file ${connection.filename} does not exist yet` };
  let engine: Engine | undefined;
  try {
    engine = await Engine.open({ knex: connection.knex, label: connection.label, leaseSeconds });
    return { learned: await learnedWrites(engine) };
  } catch (error) {
    return { learned: new Map(), reason: `the database could not be read (${describeError(error)})` };
  } finally {
    await engine?.destroy();
  }
}
