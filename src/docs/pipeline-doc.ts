/**
 * `create-doc`: the manual of a pipeline, generated from its code. Models (tables,
 * columns, keys, relations), the loader, steps and alerts (with the SQL their
 * conditions produce) and the command line, each described by its class's doc
 * comment. The Markdown carries no timestamp, so the same code gives the same file.
 */
import path from 'node:path';
import type { Argument, Command as Commander, Option } from 'commander';
import type { Knex } from 'knex';
import { createKnex } from '../db/knex-factory.js';
import { settingsView } from '../conf/load.js';
import type { ResolvedSettings } from '../conf/settings.js';
import type { ColumnSpec } from '../db/columns.js';
import { conditionsToSql, type Condition } from '../db/conditions.js';
import { frameworkModels } from '../db/bookkeeping/models.js';
import { foreignKeys, ModelInstance, type ModelClass } from '../db/model.js';
import { Alert } from '../processors/alert.js';
import { Command, type CommandClass } from '../processors/command.js';
import { Endpoint } from '../processors/endpoints/endpoint.js';
import { File } from '../processors/endpoints/file.js';
import type { Mode } from '../conf/mode.js';
import { Loader } from '../processors/loader.js';
import { Processor, type ProcessorClass } from '../processors/processor.js';
import { isAlertClass, type AlertClass, type StepClass } from '../processors/processor-kinds.js';
import type { Registry } from '../run/registry.js';
import { Step, type Ordering } from '../processors/step.js';
import { pipelineSourceFiles } from '../qa/source-files.js';
import { readDocComments, type ClassDoc, type DocIndex } from './doc-comments.js';
import { htmlPage } from './html.js';
import { Slugger } from './slug.js';

/** A command of the command line, as the doc describes it. */
export interface CommandEntry {
  readonly name: string;
  readonly mode: Mode | 'nopipe';
  /** The pipeline's own command class; undefined for built-in commands. */
  readonly custom: CommandClass | undefined;
}

type CustomCommandEntry = CommandEntry & { readonly custom: CommandClass };

export interface PipelineDocInput {
  readonly settings: ResolvedSettings;
  readonly registry: Registry;
  /** The command line as `cli/main.ts` builds it: options and descriptions are read from it. */
  readonly program: Commander;
  /** Which of the program's commands exist, in order, and whose they are. */
  readonly commands: readonly CommandEntry[];
  /** Parsed doc comments (default: the pipeline's source files). */
  readonly docs?: DocIndex;
  /** The class diagram of the models: the image file beside the Markdown, or the SVG itself inline in HTML. None when absent. */
  readonly diagram?: { readonly image: string } | { readonly svg: string };
  /** The lineage diagram (docs/lineage.ts), given the same way. None when absent. */
  readonly lineage?: { readonly image: string } | { readonly svg: string };
  /** Where the reference of the built-in commands is (corral's README, CLI reference). */
  readonly commandReference?: string;
}

/** The id of the block the HTML page fills with the inline SVG diagram. */
const DIAGRAM_BLOCK = 'models-diagram';
/** The id of the block the HTML page fills with the inline SVG lineage. */
const LINEAGE_BLOCK = 'lineage-diagram';
/** Condition SQL longer than this is laid over several lines (the HTML page also wraps what is still longer). */
const SQL_WIDTH = 72;

const MODE_TEXT: Record<Mode | 'nopipe', string> = {
  in: 'the production database',
  test: 'a throw-away test database',
  out: 'no database',
  nopipe: 'no pipeline needed',
};

/**
 * Prose from the code (doc comments, descriptions) as Markdown: Markdown stays
 * Markdown, but what would open an HTML tag (`<label>`) is shown as typed,
 * except inside code spans.
 */
export function prose(text: string): string {
  return text
    .split(/(`+[^`]*`+)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/<(?=[A-Za-z/!?])/g, '&lt;')))
    .join('');
}

/** Text safe inside a Markdown table cell (one line, no column breaks). */
function cell(text: string): string {
  return prose(text).replace(/\r?\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
}

/** Inline code that survives backticks in the text. */
function code(text: string): string {
  const runs = text.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const padded = text.startsWith('`') || text.endsWith('`') ? ` ${text} ` : text;
  return `${fence}${padded}${fence}`;
}

/** A fenced block whose fence is longer than any backtick run inside. */
function fenced(language: string, text: string): string {
  const runs = text.match(/`{3,}/g) ?? [];
  const fence = '`'.repeat(Math.max(2, ...runs.map((r) => r.length)) + 1);
  return `${fence}${language}\n${text}\n${fence}`;
}

/** A description in a list item: its lines joined, so the Markdown list holds together. */
function oneLine(text: string): string {
  return prose(text).replace(/\s*\n\s*/g, ' ').trim();
}

export function columnType(spec: ColumnSpec): string {
  return spec.kind === 'string' ? `string(${spec.length})` : spec.kind;
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Splits a WHERE clause at its top-level ANDs (outside quotes and parentheses). */
export function splitTopLevelAnd(sql: string): string[] {
  return splitTopLevel(sql, ' and ');
}

/** The index of the `)` that closes the `(` at `open`, outside quotes; -1 when none. */
function closingParen(sql: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Splits at a top-level keyword (` or `, ` and `), outside quotes and parentheses. */
function splitTopLevel(sql: string, keyword: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && sql.slice(i, i + keyword.length).toLowerCase() === keyword) {
      parts.push(sql.slice(start, i).trim());
      start = i + keyword.length;
      i += keyword.length - 1;
    }
  }
  parts.push(sql.slice(start).trim());
  return parts.filter(Boolean);
}

/**
 * One condition of a WHERE clause as lines no wider than `width` (the condition
 * starting at column `indent`) where it can be split: a parenthesised OR (or AND)
 * list gets one alternative a line, the keyword under the first alternative, and so
 * on inside. What cannot be split stays one line. Continuation lines are indented
 * relative to the condition's first character.
 */
export function wrapCondition(part: string, indent: number, width = SQL_WIDTH): string[] {
  if (indent + part.length <= width || !part.startsWith('(') || closingParen(part, 0) !== part.length - 1) return [part];
  const inner = part.slice(1, -1).trim();
  for (const keyword of [' or ', ' and ']) {
    const alternatives = splitTopLevel(inner, keyword);
    if (alternatives.length < 2) continue;
    const lines: string[] = [];
    alternatives.forEach((alternative, i) => {
      const lead = i === 0 ? '(' : ` ${keyword.trim()} `;
      const [first, ...rest] = wrapCondition(alternative, indent + lead.length, width);
      lines.push(lead + first, ...rest.map((line) => ' '.repeat(lead.length) + line));
    });
    lines[lines.length - 1] += ')';
    return lines;
  }
  return [part];
}

function orderingText(ordering: readonly Ordering[] | undefined, Model: ModelClass): string {
  if (!ordering || ordering.length === 0) return `primary key (${Model.primaryKey.map((k) => code(k)).join(', ')}), the default`;
  return ordering
    .map((o) => {
      if (typeof o === 'string') return o.startsWith('-') ? `${code(o.slice(1))} descending` : code(o);
      return o.order === 'desc' ? `${code(o.column)} descending` : code(o.column);
    })
    .join(', ');
}

function sqlOrdering(knex: Knex, ordering: readonly Ordering[] | undefined, Model: ModelClass): string {
  const list: { column: string; order: 'asc' | 'desc' }[] =
    !ordering || ordering.length === 0
      ? Model.primaryKey.map((column) => ({ column, order: 'asc' as const }))
      : ordering.map((o) => (typeof o === 'string' ? { column: o.replace(/^-/, ''), order: o.startsWith('-') ? 'desc' : 'asc' } : { column: o.column, order: o.order ?? 'asc' }));
  const sql = knex(Model.table).select('*').orderBy(list).toSQL().sql;
  const at = sql.indexOf(' order by ');
  return at >= 0 ? sql.slice(at + 10) : '';
}

/** A knex that only compiles SQL: no connection is ever opened. */
function sqlCompiler(settings: ResolvedSettings): { knex: Knex; dialectName: string } {
  if (settings.connection.dialect === 'postgres') return { knex: createKnex({ client: 'pg' }), dialectName: 'PostgreSQL' };
  return { knex: createKnex({ client: 'better-sqlite3', useNullAsDefault: true }), dialectName: 'SQLite' };
}

class DocWriter {
  readonly lines: string[] = [];
  readonly settings: ResolvedSettings;
  readonly docs: DocIndex;
  readonly tables: Map<string, ModelClass>;
  readonly knex: Knex;
  readonly dialectName: string;

  constructor(settings: ResolvedSettings, docs: DocIndex) {
    this.settings = settings;
    this.docs = docs;
    this.tables = new Map([...frameworkModels, ...settings.models].map((m) => [m.table, m]));
    const compiler = sqlCompiler(settings);
    this.knex = compiler.knex;
    this.dialectName = compiler.dialectName;
  }

  push(...lines: string[]): void {
    this.lines.push(...lines);
  }

  /** `iris/steps.ts:12`, relative to the pipeline folder. */
  where(doc: ClassDoc | undefined): string | undefined {
    if (!doc) return undefined;
    return `${path.relative(this.settings.root, doc.file).split(path.sep).join('/')}:${doc.line}`;
  }

  /** The class's doc comment, else its static description, else that of the nearest documented pipeline superclass. */
  describeClass(Class: { readonly name: string; readonly description?: string | undefined }, stopAt: readonly unknown[], hint: { table?: string } = {}): { text: string | undefined; doc: ClassDoc | undefined } {
    const doc = this.docs.find(Class.name, hint);
    if (doc?.doc) return { text: doc.doc, doc };
    if (Class.description) return { text: Class.description, doc };
    let parent = Object.getPrototypeOf(Class) as { name?: string } | null;
    while (typeof parent === 'function' && !stopAt.includes(parent)) {
      const parentDoc = this.docs.find(String(parent.name));
      if (parentDoc?.doc) return { text: parentDoc.doc, doc };
      parent = Object.getPrototypeOf(parent) as { name?: string } | null;
    }
    return { text: undefined, doc };
  }

  modelName(table: string): string {
    return this.tables.get(table)?.name ?? table;
  }

  model(Model: ModelClass, all: readonly ModelClass[]): void {
    const { text, doc } = this.describeClass(Model, [ModelInstance], { table: Model.table });
    this.push(`### Model ${code(Model.name)}`, '');
    if (text) this.push(prose(text), '');
    this.push(`- **Table:** ${code(Model.table)}`);
    this.push(`- **Primary key:** ${Model.primaryKey.map((k) => code(k)).join(', ')}`);
    const source = this.where(doc);
    if (source) this.push(`- **Source:** ${code(source)}`);
    for (const group of Model.uniques) this.push(`- **Unique together:** ${group.map((c) => code(c)).join(', ')}`);
    for (const group of Model.indexes) this.push(`- **Index:** ${group.map((c) => code(c)).join(', ')}`);
    this.push('');
    const fks = new Map(foreignKeys(Model).map((fk) => [fk.column, fk]));
    this.push('| Column | Type | Null | Key | Default | Description |', '|---|---|---|---|---|---|');
    for (const [name, column] of Object.entries(Model.columns)) {
      const spec = column.spec;
      const keys: string[] = [];
      if (spec.primaryKey) keys.push('PK');
      const fk = fks.get(name);
      if (fk) keys.push(`FK → ${code(`${this.modelName(fk.table)}.${fk.targetColumn}`)}`);
      if (spec.unique) keys.push('unique');
      if (spec.index) keys.push('index');
      const description = spec.description ?? doc?.columns.get(name) ?? '';
      this.push(
        `| ${code(name)} | ${columnType(spec)} | ${spec.nullable ? 'yes' : 'no'} | ${keys.join(', ')} | ${spec.hasDefault ? code(literal(spec.defaultValue)) : ''} | ${cell(description)} |`,
      );
    }
    this.push('');
    const relations: string[] = [];
    for (const fk of fks.values()) {
      const spec = Model.columns[fk.column]!.spec;
      const target = this.modelName(fk.table);
      const one = spec.unique ? 'one-to-one' : 'many-to-one';
      relations.push(
        `- **${one}** to ${code(target)} through ${code(fk.column)} → ${code(`${target}.${fk.targetColumn}`)}: each ${Model.name} row belongs to ${spec.nullable ? 'at most one' : 'one'} ${target}` +
          (spec.unique ? `, and each ${target} has at most one ${Model.name}.` : '.'),
      );
    }
    for (const Other of all) {
      for (const fk of foreignKeys(Other)) {
        if (fk.table !== Model.table) continue;
        const unique = Other.columns[fk.column]!.spec.unique;
        relations.push(
          `- **${unique ? 'one-to-one' : 'one-to-many'}** from ${code(Other.name)} through ${code(`${Other.name}.${fk.column}`)}: each ${Model.name} row has ${unique ? 'at most one' : 'any number of'} ${Other.name} row${unique ? '' : 's'}.`,
        );
      }
    }
    if (relations.length > 0) this.push('**Relations:**', '', ...relations, '');
  }

  processorHeader(kind: string, Class: ProcessorClass): ClassDoc | undefined {
    const { text, doc } = this.describeClass(Class, [Step, Alert, Loader, Processor]);
    this.push(`### ${kind} ${code(Class.name)}`, '');
    if (text) this.push(prose(text), '');
    const source = this.where(doc);
    if (source) this.push(`- **Source:** ${code(source)}`);
    return doc;
  }

  loader(Class: ProcessorClass): void {
    this.processorHeader('Loader', Class);
    this.push(`- **Groups:** ${Class.groups.map((g) => code(g)).join(', ')}`);
    this.push(`- **Rows per transaction:** ${Class.chunkSize ?? this.settings.chunkSize}`, '');
  }

  selection(Class: StepClass | AlertClass, kind: 'Step' | 'Alert'): void {
    this.processorHeader(kind, Class);
    const Model = Class.model;
    if (Model) this.push(`- **Model:** ${code(Model.name)} (table ${code(Model.table)})`);
    this.push(`- **Groups:** ${Class.groups.map((g) => code(g)).join(', ')}`);
    if (Model) this.push(`- **Order:** ${orderingText(Class.ordering, Model)}`);
    this.push(`- **Rows per transaction:** ${Class.chunkSize ?? this.settings.chunkSize}`);
    if (isAlertClass(Class)) this.endpoints(Class);
    this.push('');
    if (!Model) return;
    const conditions: readonly Condition[] = Class.conditions ?? [];
    let where: { sql: string; bindings: readonly unknown[] };
    try {
      where = conditionsToSql(this.knex, Model, conditions);
    } catch (error) {
      this.push(`**Conditions:** ${conditions.length} (they could not be compiled to SQL: ${oneLine(error instanceof Error ? error.message : String(error))})`, '');
      return;
    }
    const intro =
      conditions.length === 0 ? 'every row of the table (no conditions)' : conditions.length === 1 ? 'the rows matching 1 condition' : `the rows matching all ${conditions.length} conditions`;
    const after = kind === 'Alert' ? ', leaving out the rows this alert has already sent (remembered in `corral_alerted`)' : '';
    this.push(`**Selects** ${intro}${after}, in ${this.dialectName}:`, '');
    const sql = [`SELECT * FROM ${this.knex.raw('??', [Model.table]).toQuery()}`];
    const parts = where.sql ? splitTopLevelAnd(where.sql) : [];
    parts.forEach((part, i) => {
      const [first, ...rest] = wrapCondition(part, 6);
      sql.push(`${i === 0 ? 'WHERE' : '  AND'} ${first}`, ...rest.map((line) => `      ${line}`));
    });
    const order = sqlOrdering(this.knex, Class.ordering, Model);
    if (order) sql.push(`ORDER BY ${order}`);
    this.push(fenced('sql', sql.join('\n')), '');
    if (where.bindings.length > 0) this.push(`**Bindings** (the \`?\` in order): ${where.bindings.map((b) => code(literal(b))).join(', ')}`, '');
  }

  endpoints(Class: typeof Alert): void {
    const endpoints = Class.alertTo ?? [];
    if (endpoints.length === 0) {
      this.push('- **Endpoints:** none');
      return;
    }
    this.push('- **Endpoints:**');
    for (const endpoint of endpoints) {
      const name = (endpoint as object).constructor.name;
      if (endpoint instanceof File) {
        let target: string;
        if (typeof endpoint.path === 'function') {
          try {
            target = `${code(endpoint.path(settingsView(this.settings)))} (from the settings)`;
          } catch {
            target = 'a path computed from the settings';
          }
        } else {
          target = code(endpoint.path);
        }
        this.push(`  - ${code(name)}: ${endpoint.mode === 'w' ? 'writes' : 'appends to'} ${target}, relative to the pipeline folder (a test's temporary folder in tests)`);
        continue;
      }
      const { text, doc } = this.describeClass(endpoint.constructor as { name: string }, [Endpoint, File]);
      // A custom endpoint with a `path` of its own shows it too.
      const given = 'path' in endpoint ? endpoint.path : undefined;
      const details = [typeof given === 'string' ? `path ${code(given)}` : '', this.where(doc) ? `source ${code(this.where(doc)!)}` : ''].filter(Boolean).join(', ');
      this.push(`  - ${code(name)}${details ? ` (${details})` : ''}${text ? `: ${oneLine(text)}` : ''}`);
    }
  }

  option(option: Option): string {
    const notes: string[] = [];
    if (option.mandatory) notes.push('required');
    if (option.argChoices) notes.push(`one of ${option.argChoices.map((c) => code(c)).join(', ')}`);
    if (option.defaultValue !== undefined && !option.negate && typeof option.defaultValue !== 'boolean') {
      notes.push(`default ${option.defaultValueDescription ?? code(String(option.defaultValue))}`);
    }
    const description = option.description + (notes.length ? ` (${notes.join('; ')})` : '');
    return `| ${code(option.flags)} | ${cell(description)} |`;
  }

  argument(argument: Argument): string {
    const name = argument.variadic ? `${argument.name()}...` : argument.name();
    const shown = argument.required ? `<${name}>` : `[${name}]`;
    const notes: string[] = [];
    if (argument.argChoices) notes.push(`one of ${argument.argChoices.map((c) => code(c)).join(', ')}`);
    if (argument.defaultValue !== undefined) notes.push(`default ${code(String(argument.defaultValue))}`);
    return `| ${code(shown)} | ${cell(argument.description + (notes.length ? ` (${notes.join('; ')})` : ''))} |`;
  }

  /** A pipeline's own command in full (the built-in ones are only a table row). */
  command(program: Commander, entry: CustomCommandEntry): void {
    const cmd = program.commands.find((c) => c.name() === entry.name);
    if (!cmd) return;
    this.push(`### ${code(entry.name)}`, '');
    const Class = entry.custom;
    const { text, doc } = this.describeClass(Class, [Command]);
    if (cmd.description()) this.push(prose(cmd.description()), '');
    if (text && oneLine(text) !== oneLine(cmd.description())) this.push(prose(text), '');
    const source = this.where(doc);
    this.push(`- **Class:** ${code(Class.name)}${source ? ` (${code(source)})` : ''}`);
    this.push(`- **Usage:** ${code(`${program.name()} ${entry.name} ${cmd.usage()}`.trim())}`);
    this.push(`- **Works on:** ${MODE_TEXT[entry.mode]}`, '');
    const args = cmd.registeredArguments;
    if (args.length > 0) {
      this.push('| Argument | Description |', '|---|---|');
      for (const argument of args) this.push(this.argument(argument));
      this.push('');
    }
    const options = cmd.options.filter((o) => !o.hidden);
    if (options.length > 0) {
      this.push('| Option | Description |', '|---|---|');
      for (const option of options) this.push(this.option(option));
      this.push('');
    }
  }
}

/**
 * Models in the order their files declare them (a models module's namespace lists
 * them alphabetically); models whose declaration is not found keep their place after.
 */
export function inSourceOrder(models: readonly ModelClass[], docs: DocIndex): ModelClass[] {
  const entries = models.map((Model, index) => ({ Model, index, doc: docs.find(Model.name, { table: Model.table }) }));
  // A file comes where its first model comes in the settings; within a file, declaration order.
  const fileRank = new Map<string, number>();
  for (const entry of entries) if (entry.doc && !fileRank.has(entry.doc.file)) fileRank.set(entry.doc.file, entry.index);
  const key = (entry: (typeof entries)[number]): [number, number] => (entry.doc ? [fileRank.get(entry.doc.file)!, entry.doc.line] : [entry.index, 0]);
  return entries
    .sort((a, b) => {
      const [fa, la] = key(a);
      const [fb, lb] = key(b);
      return fa - fb || la - lb || a.index - b.index;
    })
    .map((entry) => entry.Model);
}

/** Whether a line opens or closes a fenced code block (``` or longer). */
const FENCE = /^(`{3,}|~{3,})/;

/**
 * A table of contents of the `##` and `###` headings, with GitHub's anchors,
 * inserted before the first `##` heading (and counted in its place, since
 * GitHub numbers repeated anchors in document order).
 */
function withContents(pushed: readonly string[]): string[] {
  const lines = pushed.join('\n').split('\n');
  const headings: { level: number; text: string; at: number }[] = [];
  let fence: string | undefined;
  lines.forEach((line, at) => {
    const open = FENCE.exec(line);
    if (open) {
      if (!fence) fence = open[1]!;
      else if (line.trimEnd() === fence[0]!.repeat(Math.max(fence.length, line.trimEnd().length)) && line.trimEnd().length >= fence.length) fence = undefined;
      return;
    }
    if (fence) return;
    const heading = /^(#{1,6}) (.*)$/.exec(line);
    if (heading) headings.push({ level: heading[1]!.length, text: heading[2]!, at });
  });
  const first = headings.find((h) => h.level === 2);
  if (!first) return [...lines];
  const slugger = new Slugger();
  const toc: string[] = ['## Contents', ''];
  for (const heading of headings) {
    if (heading === first) slugger.slug('Contents');
    const anchor = slugger.slug(heading.text);
    if (heading.level === 2) toc.push(`- [${heading.text}](#${anchor})`);
    else if (heading.level === 3) toc.push(`  - [${heading.text}](#${anchor})`);
  }
  return [...lines.slice(0, first.at), ...toc, '', ...lines.slice(first.at)];
}

/** The manual of the pipeline, in Markdown. */
export function pipelineDocMarkdown(input: PipelineDocInput): string {
  const { settings, registry, program } = input;
  const docs = input.docs ?? readDocComments(pipelineSourceFiles(settings));
  const w = new DocWriter(settings, docs);
  try {
    w.push(`# ${settings.name} Documentation`, '');
    w.push(settings.description ? prose(settings.description) : '_No description: set `description` in the settings._', '');
    const custom = input.commands.filter((c): c is CustomCommandEntry => c.custom !== undefined);
    const settingsFile = path.relative(settings.root, settings.settingsFile).split(path.sep).join('/');
    w.push(`- **Settings:** ${code(settingsFile)}`);
    w.push(`- **Models:** ${inSourceOrder(settings.models, docs).map((m) => code(m.name)).join(', ') || 'none'}`);
    w.push(`- **Loader:** ${registry.loader ? code(registry.loader.name) : 'none'}`);
    w.push(`- **Steps:** ${registry.steps.map((s) => code(s.name)).join(', ') || 'none'}`);
    w.push(`- **Alerts:** ${registry.alerts.map((a) => code(a.name)).join(', ') || 'none'}`);
    w.push(`- **Pipeline commands:** ${custom.map((c) => code(c.name)).join(', ') || 'none'}`, '');
    w.push('_Generated from the code by `create-doc`._', '');

    if (input.lineage) {
      w.push('## Lineage', '');
      w.push('Which model each processor reads (with its conditions) and which it writes: learned from the recorded runs, plus what each processor declares (`static writes`, dashed until a run shows it).', '');
      w.push('image' in input.lineage ? `![Lineage: loader, models, steps, alerts and endpoints](${input.lineage.image})` : `<div id="${LINEAGE_BLOCK}"></div>`, '');
    }

    w.push('## Models', '');
    if (settings.models.length === 0) w.push('The pipeline declares no models.', '');
    else if (input.diagram && 'image' in input.diagram) w.push(`![Class diagram of the models and their foreign keys](${input.diagram.image})`, '');
    else if (input.diagram) w.push(`<div id="${DIAGRAM_BLOCK}"></div>`, '');
    const models = inSourceOrder(settings.models, docs);
    for (const Model of models) w.model(Model, models);

    w.push('## Loader', '');
    if (registry.loader) w.loader(registry.loader);
    else w.push('The pipeline has no loader.', '');

    w.push('## Steps', '');
    if (registry.steps.length === 0) w.push('The pipeline has no steps.', '');
    else w.push('`run --sync` runs them in this order.', '');
    for (const Class of registry.steps) w.selection(Class, 'Step');

    w.push('## Alerts', '');
    if (registry.alerts.length === 0) w.push('The pipeline has no alerts.', '');
    for (const Class of registry.alerts) w.selection(Class, 'Alert');

    w.push('## Pipeline commands', '');
    if (custom.length === 0) w.push('The pipeline defines no commands of its own.', '');
    for (const entry of custom) w.command(program, entry);

    w.push('## Built-in commands', '');
    // The same in every pipeline: listed, and their options left to corral's reference.
    const reference = input.commandReference ? `[corral's CLI reference](${input.commandReference})` : "corral's README (CLI reference)";
    w.push(`Every corral pipeline has these commands. Their options are in ${reference}, and ${code(`${program.name()} <command> --help`)} prints them for this pipeline.`, '');
    w.push('| Command | Description |', '|---|---|');
    for (const entry of input.commands.filter((c) => !c.custom)) {
      const cmd = program.commands.find((c) => c.name() === entry.name);
      if (cmd) w.push(`| ${code(entry.name)} | ${cell(cmd.description())} |`);
    }
    w.push('');
  } finally {
    void w.knex.destroy();
  }
  return withContents(w.lines).join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

/** The manual as a self-contained HTML page, the diagram (when given as SVG) inline. */
export async function pipelineDocHtml(input: PipelineDocInput): Promise<string> {
  const blocks: Record<string, string> = {};
  if (input.diagram && 'svg' in input.diagram) blocks[DIAGRAM_BLOCK] = `<div id="${DIAGRAM_BLOCK}" class="diagram">${inlineSvg(input.diagram.svg)}</div>`;
  if (input.lineage && 'svg' in input.lineage) blocks[LINEAGE_BLOCK] = `<div id="${LINEAGE_BLOCK}" class="diagram">${inlineSvg(input.lineage.svg)}</div>`;
  return htmlPage(`${input.settings.name} Documentation`, pipelineDocMarkdown(input), blocks);
}

/** An SVG document as an element for an HTML page: no XML prolog, doctype or comments. */
export function inlineSvg(svg: string): string {
  return svg
    .replace(/<\?xml[^>]*\?>/g, '')
    .replace(/<!DOCTYPE[^>]*>/gi, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .trim();
}
