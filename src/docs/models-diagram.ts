/**
 * `create-models-diagram`: a class diagram of the models in Graphviz DOT. One
 * node per model (a table: the class and its table, then a row per column with
 * its key marks and type) and one edge per foreign key, from the column to the
 * referenced key, with its multiplicities.
 *
 * Every identifier is a quoted DOT string and every text in a label is escaped,
 * so names such as `node`, `edge`, `graph`, `name` or `class` are plain names.
 */
import type { ColumnSpec } from '../db/columns.js';
import { foreignKeys, type ModelClass } from '../db/model.js';

export interface DiagramOptions {
  /** A title above the diagram (none when absent). */
  readonly title?: string;
  /** `LR`: foreign keys point from left to right, the usual reading of a class diagram. (Default: LR) */
  readonly rankdir?: 'LR' | 'TB';
  /** Models with no foreign key in or out are laid in rows of this many. (Default: 4) */
  readonly rowLength?: number;
}

const FONT = 'Helvetica';
const COLORS = {
  border: '#8a98a8',
  header: '#e2e9f0',
  headerText: '#1f2d3a',
  table: '#5d6b79',
  key: '#2e5f8a',
  foreign: '#8a5a2b',
  text: '#1f2d3a',
  type: '#6a7682',
  edge: '#6f7c89',
  edgeText: '#46525e',
  missing: '#a0a8b0',
  keyRow: '#f2f5f8',
};

/** A DOT quoted string: `"..."` with `"` and `\` escaped, safe for any name. */
export function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

/** Text inside an HTML-like label or one of its attributes. */
export function htmlText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function typeText(spec: ColumnSpec): string {
  return spec.kind === 'string' ? `string(${spec.length})` : spec.kind;
}

interface Link {
  readonly from: ModelClass;
  readonly column: string;
  readonly table: string;
  readonly targetColumn: string;
}

/** The node of a model: a header (class, table) and one row per column, PK first, then FKs, then the rest in declaration order. */
function modelNode(Model: ModelClass, ports: Map<string, string>, fkColumns: ReadonlySet<string>): string {
  const entries = Object.entries(Model.columns);
  const rank = ([name, column]: (typeof entries)[number]) => (column.spec.primaryKey ? 0 : fkColumns.has(name) ? 1 : 2);
  const sorted = entries.map((entry, index) => ({ entry, index })).sort((a, b) => rank(a.entry) - rank(b.entry) || a.index - b.index);
  const rows: string[] = [];
  rows.push(
    `<TR><TD COLSPAN="3" BGCOLOR="${COLORS.header}" CELLPADDING="6"><FONT COLOR="${COLORS.headerText}"><B>${htmlText(Model.name)}</B></FONT><BR/>` +
      `<FONT POINT-SIZE="9" COLOR="${COLORS.table}">table ${htmlText(Model.table)}</FONT></TD></TR>`,
  );
  rows.push('<HR/>');
  sorted.forEach(({ entry: [name, column] }, i) => {
    const spec = column.spec;
    // No bold in rows: Graphviz gives bold text a taller line, and the rows would not line up.
    const marks: string[] = [];
    if (spec.primaryKey) marks.push(`<FONT COLOR="${COLORS.key}">PK</FONT>`);
    if (fkColumns.has(name)) marks.push(`<FONT COLOR="${COLORS.foreign}">FK</FONT>`);
    const port = `c${i}`;
    ports.set(name, port);
    const background = spec.primaryKey ? ` BGCOLOR="${COLORS.keyRow}"` : '';
    const type = typeText(spec) + (spec.unique && !spec.primaryKey ? ' unique' : '');
    rows.push(
      `<TR><TD PORT="${port}w" ALIGN="LEFT"${background}>${marks.join(' ') || ' '}</TD>` +
        `<TD ALIGN="LEFT"${background}><FONT COLOR="${COLORS.text}">${htmlText(name)}</FONT></TD>` +
        `<TD PORT="${port}e" ALIGN="LEFT"${background}><FONT COLOR="${COLORS.type}">${htmlText(type)}</FONT></TD></TR>`,
    );
  });
  const table = `<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" COLOR="${COLORS.border}" BGCOLOR="white">${rows.join('')}</TABLE>`;
  return `  ${dotString(Model.table)} [id=${dotString(`model_${Model.name}`)}, tooltip=${dotString(`${Model.name} (table ${Model.table})`)}, label=<${table}>];`;
}

/**
 * The DOT text of the diagram of `models`. A foreign key to a table outside
 * `models` points at a dashed placeholder node of that table.
 */
export function modelsDiagramDot(models: readonly ModelClass[], options: DiagramOptions = {}): string {
  const byTable = new Map(models.map((m) => [m.table, m]));
  const links: Link[] = models.flatMap((Model) => foreignKeys(Model).map((fk) => ({ from: Model, ...fk })));
  const rankdir = options.rankdir ?? 'LR';
  const lines: string[] = [];
  lines.push(`digraph ${dotString(options.title ?? 'models')} {`);
  const graph = [
    `rankdir=${rankdir}`,
    `fontname=${dotString(FONT)}`,
    'fontsize=14',
    'nodesep=0.45',
    'ranksep=1.1',
    'pad=0.25',
    'bgcolor="white"',
  ];
  if (options.title) graph.push(`label=<<B>${htmlText(options.title)}</B>>`, 'labelloc="t"', 'labeljust="l"');
  lines.push(`  graph [${graph.join(', ')}];`);
  lines.push(`  node [shape=plain, fontname=${dotString(FONT)}, fontsize=11];`);
  lines.push(
    `  edge [fontname=${dotString(FONT)}, fontsize=9, color=${dotString(COLORS.edge)}, fontcolor=${dotString(COLORS.edgeText)}, arrowhead=vee, arrowsize=0.7, penwidth=1.1, labeldistance=1.8, labelangle=30];`,
  );
  const ports = new Map<string, Map<string, string>>();
  for (const Model of models) {
    const modelPorts = new Map<string, string>();
    ports.set(Model.table, modelPorts);
    const fkColumns = new Set(foreignKeys(Model).map((fk) => fk.column));
    lines.push(modelNode(Model, modelPorts, fkColumns));
  }
  const missing = [...new Set(links.map((l) => l.table).filter((t) => !byTable.has(t)))];
  for (const table of missing) {
    lines.push(
      `  ${dotString(table)} [id=${dotString(`table_${table}`)}, shape=box, style="dashed,rounded", color=${dotString(COLORS.missing)}, fontcolor=${dotString(COLORS.table)}, label=<${htmlText(table)}<BR/><FONT POINT-SIZE="9">(not shown)</FONT>>];`,
    );
  }
  for (const link of links) {
    const spec = link.from.columns[link.column]!.spec;
    const tailPort = ports.get(link.from.table)?.get(link.column);
    const target = byTable.get(link.table);
    const targetColumn = target && !(link.targetColumn in target.columns) && link.targetColumn === 'id' ? target.primaryKey[0]! : link.targetColumn;
    // An edge to the primary key meets the table anywhere (edges to the same key then do not overlap); to another column, that row.
    const headPort = target && target.primaryKey.length === 1 && target.primaryKey[0] === targetColumn ? undefined : ports.get(link.table)?.get(targetColumn);
    const tail = tailPort ? `${dotString(link.from.table)}:${dotString(`${tailPort}e`)}:e` : dotString(link.from.table);
    const head = headPort ? `${dotString(link.table)}:${dotString(`${headPort}w`)}:w` : dotString(link.table);
    // Multiplicities: how many rows of this model per referenced row (tail), and how many referenced rows per row (head).
    const tailLabel = spec.unique || spec.primaryKey ? '0..1' : '*';
    const headLabel = spec.nullable ? '0..1' : '1';
    const attributes = [
      `id=${dotString(`fk_${link.from.name}_${link.column}`)}`,
      `label=${dotString(link.column)}`,
      `taillabel=${dotString(tailLabel)}`,
      `headlabel=${dotString(headLabel)}`,
      `tooltip=${dotString(`${link.from.name}.${link.column} → ${target?.name ?? link.table}.${targetColumn}`)}`,
    ];
    lines.push(`  ${tail} -> ${head} [${attributes.join(', ')}];`);
  }
  // Unrelated models would all share the first rank, a tall single column:
  // invisible edges lay them out in rows instead.
  const linked = new Set(links.flatMap((l) => [l.from.table, l.table]));
  const alone = models.filter((m) => !linked.has(m.table));
  const rowLength = Math.max(1, options.rowLength ?? 4);
  for (let start = 0; start < alone.length; start += rowLength) {
    const row = alone.slice(start, start + rowLength);
    for (let i = 1; i < row.length; i++) lines.push(`  ${dotString(row[i - 1]!.table)} -> ${dotString(row[i]!.table)} [style=invis];`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
