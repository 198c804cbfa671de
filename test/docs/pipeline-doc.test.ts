/**
 * `create-doc` on a fixture pipeline, in this process: the manual lists every
 * model, column, processor and command of the code, and the SQL the conditions
 * compile to.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Argument as CommanderArgument, Option as CommanderOption } from 'commander';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { builtinCommandNames } from '../../src/cli/commands/index.js';
import { commandLineProgram, commandsFor, runFromCommandLine } from '../../src/cli/main.js';
import { resolveSettings } from '../../src/conf/settings.js';
import { memoryOutput } from '../../src/core/output.js';
import { conditionsToSql } from '../../src/db/conditions.js';
import type { ModelClass } from '../../src/db/model.js';
import { classDocsOf, DocIndex } from '../../src/docs/doc-comments.js';
import { inSourceOrder, pipelineDocHtml, pipelineDocMarkdown, splitTopLevelAnd, wrapCondition, type CommandEntry, type PipelineDocInput } from '../../src/docs/pipeline-doc.js';
import { Alert, Command, datetime, Endpoint, integer, json, model, Step, string, where, type CommanderCommand } from '../../src/index.js';
import type { CommandClass } from '../../src/processors/command.js';
import type { Registry } from '../../src/run/registry.js';
import { Slugger } from '../../src/docs/slug.js';
import { NodeAlert } from '../fixtures/docs-pipeline/docpipe/alerts.js';
import * as models from '../fixtures/docs-pipeline/docpipe/models.js';
import { Classify, Weigh } from '../fixtures/docs-pipeline/docpipe/steps.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const settingsFile = path.join(REPO_ROOT, 'test', 'fixtures', 'docs-pipeline', 'docpipe', 'settings.ts');
const tempDir = tempDirForFile('corral-doc-');
const sqlite = knexFactory({ client: 'better-sqlite3', useNullAsDefault: true });

async function cli(argv: string[]) {
  const output = memoryOutput();
  const code = await runFromCommandLine(argv, { settingsFile, output });
  return { code, stdout: output.stdout, stderr: output.stderr };
}

let doc: string;

beforeAll(async () => {
  const result = await cli(['create-doc']);
  expect(result.code, result.stderr).toBe(0);
  doc = result.stdout;
});

afterAll(async () => {
  await sqlite.destroy();
});

/** The part of the manual from `heading` to the next heading of the same level or above. */
function section(heading: string): string {
  const start = doc.indexOf(heading);
  expect(start, `no '${heading}' in the manual`).toBeGreaterThanOrEqual(0);
  const level = /^#+/.exec(heading)![0].length;
  const rest = doc.slice(start + heading.length);
  const next = rest.search(new RegExp(`\\n#{1,${level}} `));
  return next < 0 ? rest : rest.slice(0, next);
}

describe('create-doc', () => {
  test('when create-doc runs then every model is described with its table, its doc comment and a row per column', () => {
    expect(doc).toMatch(/^# docpipe Documentation\n\nFixture pipeline of the documentation tests: graphs, nodes & edges\.\n/);
    for (const Model of Object.values(models) as ModelClass[]) {
      const part = section(`### Model \`${Model.name}\``);
      expect(part).toContain(`- **Table:** \`${Model.table}\``);
      for (const column of Object.keys(Model.columns)) expect(part).toMatch(new RegExp(`^\\| \`${column}\` \\|`, 'm'));
    }
    // The doc comment of the class, else the model's description option.
    // Text that would open an HTML tag is shown as typed.
    expect(section('### Model `Graph`')).toContain('A graph: a &lt;b>reserved&lt;/b> word & "keyword" of DOT.');
    expect(section('### Model `Edge`')).toContain('An edge from `node` to the node called `name`.');
  });

  test('when a column has a description or a comment then it is in its row, with its type, nullability, keys and default', () => {
    const graph = section('### Model `Graph`');
    expect(graph).toContain('| `label` | string(80) | no |  |  | Shown as &lt;label> & "quoted" |');
    expect(graph).toContain('| `strict` | boolean | no |  | `false` | whether the graph is strict |');
    const node = section('### Model `Node`');
    expect(node).toContain('| `id` | integer | no | PK |  |  |');
    expect(node).toContain("| `name` | string(50) | no | unique |  | The node's name. |");
    expect(node).toContain('| `graph` | integer | yes | FK → `Graph.id` |  |  |');
    const edge = section('### Model `Edge`');
    expect(edge).toContain('| `subgraph` | string(30) | yes | index |  |  |');
    expect(edge).toContain('- **Unique together:** `node`, `name`');
  });

  test('when models have foreign keys then the relations are listed from both sides', () => {
    const edge = section('### Model `Edge`');
    expect(edge).toContain('- **many-to-one** to `Node` through `node` → `Node.id`: each Edge row belongs to one Node.');
    expect(edge).toContain('- **many-to-one** to `Node` through `name` → `Node.id`: each Edge row belongs to at most one Node.');
    const node = section('### Model `Node`');
    expect(node).toContain('- **one-to-many** from `Edge` through `Edge.node`');
    expect(node).toContain('- **one-to-many** from `Edge` through `Edge.name`');
    expect(section('### Model `Graph`')).toContain('- **one-to-many** from `Node` through `Node.graph`');
  });

  test('when create-doc runs then the loader, every step and every alert are there with description, model, groups and order', () => {
    expect(section('### Loader `Loader`')).toContain('Adds one graph.');
    const weigh = section('### Step `Weigh`');
    expect(weigh).toContain('Weighs the edges that have no weight yet, heaviest first.');
    expect(weigh).toContain('- **Model:** `Edge` (table `edge`)');
    expect(weigh).toContain('- **Groups:** `graph`, `default`');
    expect(weigh).toContain('- **Order:** `weight` descending, `id`');
    expect(weigh).toContain('- **Rows per transaction:** 50');
    expect(weigh).toMatch(/- \*\*Source:\*\* `docpipe\/steps\.ts:5`/);
    // No doc comment: the static description.
    expect(section('### Step `Classify`')).toContain('Gives every node a class.');
    const alert = section('### Alert `NodeAlert`');
    expect(alert).toContain('Tells about the nodes of class "x".');
    expect(alert).toContain('  - `File`: writes `nodes.log`');
    expect(alert).toContain('  - `Counter` (source `docpipe/alerts.ts:5`): A custom endpoint that only counts what it is sent.');
  });

  test('when steps and alerts have conditions then the manual shows the SQL they compile to and its bindings', () => {
    for (const [heading, Class] of [
      ['### Step `Weigh`', Weigh],
      ['### Step `Classify`', Classify],
      ['### Alert `NodeAlert`', NodeAlert],
    ] as const) {
      const part = section(heading);
      const { sql, bindings } = conditionsToSql(sqlite, Class.model!, Class.conditions!);
      // Long clauses are laid over several lines: compare with the line breaks and indents gone.
      const flat = part.replace(/\n\s+(or|and) /g, ' $1 ');
      for (const clause of splitTopLevelAnd(sql)) expect(flat).toContain(clause);
      expect(part).toContain(`SELECT * FROM \`${Class.model!.table}\``);
      if (bindings.length > 0) expect(part).toContain('**Bindings**');
    }
    const weigh = section('### Step `Weigh`');
    expect(weigh).toContain(
      ['```sql', 'SELECT * FROM `edge`', 'WHERE `weight` is null', '  AND `node` > ?', '  AND (`subgraph` like ? or `name` is null)', 'ORDER BY `weight` desc, `id` asc', '```'].join('\n'),
    );
    expect(weigh).toContain("**Bindings** (the `?` in order): `2`, `'core%'`");
    expect(section('### Step `Classify`')).toContain("`'a'`, `'b'`");
  });

  test('when create-doc runs then the pipeline command is documented in full, and the built-in ones are a table that links to the CLI reference', () => {
    const builtins = section('## Built-in commands');
    for (const name of builtinCommandNames) {
      expect(builtins).toMatch(new RegExp(`^\\| \`${name}\` \\| `, 'm'));
      // The same in every pipeline: no section of their own, their options are in corral's README.
      expect(doc).not.toContain(`### \`${name}\``);
    }
    expect(builtins).toMatch(/Their options are in \[corral's CLI reference\]\((\S+)#cli-reference\)/);
    const exported = section('### `export`');
    expect(exported).toContain('Export the graph');
    expect(exported).toContain('Writes the graph somewhere, in a format of your choice.');
    expect(exported).toContain('- **Usage:** `node in_corral.js export [options] <target>`');
    expect(exported).toContain('- **Works on:** no database');
    expect(exported).toContain('| `<target>` | where to write |');
    expect(exported).toContain('| `-f, --format <format>` | dot or json (default `dot`) |');
    expect(exported).toContain('| `--pretty` | indent the output |');
    expect(doc).not.toContain('| `--sync` |');
    expect(doc.split('\n').length).toBeLessThan(260);
  });

  test('when create-doc runs then a table of contents links to every section and subsection, with the anchors of the headings', () => {
    const contents = section('## Contents');
    const headings = [...doc.replace(/```[\s\S]*?```/g, '').matchAll(/^(#{1,3}) (.+)$/gm)].map((m) => ({ level: m[1]!.length, text: m[2]! }));
    const slugger = new Slugger();
    const anchors = new Map(headings.map((h) => [h.text, slugger.slug(h.text)]));
    const listed = [...contents.matchAll(/^( *)- \[(.+)\]\(#([^)]+)\)$/gm)].map((m) => ({ indent: m[1]!.length, text: m[2]!, anchor: m[3]! }));
    const expected = headings.filter((h) => h.level >= 2 && h.text !== 'Contents');
    expect(listed.map((l) => l.text)).toEqual(expected.map((h) => h.text));
    for (const entry of listed) expect(entry.anchor).toBe(anchors.get(entry.text));
    expect(listed.find((l) => l.text === 'Model `Edge`')).toEqual({ indent: 2, text: 'Model `Edge`', anchor: 'model-edge' });
    expect(listed.find((l) => l.text === 'Models')).toEqual({ indent: 0, text: 'Models', anchor: 'models' });
    // Before the first section, after the summary.
    expect(doc.indexOf('## Contents')).toBeLessThan(doc.indexOf('## Models'));
  });

  test('when a condition is longer than the line then its alternatives go one a line, under each other, in the SQL block', () => {
    const classify = section('### Step `Classify`');
    const block = /```sql\n([\s\S]*?)\n```/.exec(classify)![1]!;
    expect(block).toContain(
      ['  AND (`name` like ?', '       or `name` like ?', '       or `graph` is null', '       or `graph` > ?', '       or `class` is null)'].join('\n'),
    );
    for (const line of block.split('\n')) expect(line.length, line).toBeLessThanOrEqual(72);
    expect(wrapCondition('(`a` = ? or `b` = ?)', 6)).toEqual(['(`a` = ? or `b` = ?)']);
    expect(wrapCondition(`(${'x'.repeat(40)} or (${'y'.repeat(30)} and ${'z'.repeat(30)}))`, 6)).toEqual([
      `(${'x'.repeat(40)}`,
      ` or (${'y'.repeat(30)}`,
      `     and ${'z'.repeat(30)}))`,
    ]);
  });

  test('when create-doc runs twice then the output is identical (no timestamp)', async () => {
    const again = await cli(['create-doc']);
    expect(again.stdout).toBe(doc);
  });

  test('when -o names an .html file then a self-contained page is written, with the diagram inline and the contents linked to heading ids', async () => {
    const file = path.join(tempDir(), 'manual', 'docpipe.html');
    const result = await cli(['create-doc', '-o', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`Wrote the documentation to ${file}\n`);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<style>');
    expect(html).toContain('<h1 id="docpipe-documentation">docpipe Documentation</h1>');
    expect(html).toContain('<table>');
    expect(html).toContain('Shown as &lt;label&gt; &amp; &quot;quoted&quot;');
    expect(html).not.toMatch(/<(link|script|img)\b/i);
    expect(fs.existsSync(path.join(tempDir(), 'manual', 'models.svg'))).toBe(false);
    // The diagram, inline: one node per model.
    const svg = /<div id="models-diagram" class="diagram">\s*(<svg[\s\S]*?<\/svg>)\s*<\/div>/.exec(html);
    expect(svg, 'no inline diagram').not.toBeNull();
    for (const Model of Object.values(models) as ModelClass[]) expect(svg![1]).toContain(`id="model_${Model.name}"`);
    // Every link of the contents leads to a heading of the page.
    const links = [...html.matchAll(/<a href="#([^"]+)">/g)].map((m) => m[1]!);
    expect(links).toContain('model-edge');
    for (const anchor of links) expect(html).toMatch(new RegExp(`<h[23] id="${anchor}">`));
  });

  test('when -o names a .md file then the class diagram and the lineage are written beside it as models.svg and lineage.svg and shown as images', async () => {
    const folder = path.join(tempDir(), 'md-manual');
    const markdown = path.join(folder, 'docpipe.md');
    const result = await cli(['create-doc', '-o', markdown]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`Wrote the documentation to ${markdown}, and its diagrams to ${path.join(folder, 'models.svg')} and ${path.join(folder, 'lineage.svg')}\n`);
    const written = fs.readFileSync(markdown, 'utf8');
    expect(section('## Models')).not.toContain('![');
    expect(written).toContain('## Models\n\n![Class diagram of the models and their foreign keys](models.svg)\n');
    expect(written).toContain('![Lineage: loader, models, steps, alerts and endpoints](lineage.svg)\n');
    expect(fs.readFileSync(path.join(folder, 'lineage.svg'), 'utf8')).toMatch(/<svg[\s\S]*>Edge<\/text>/);
    const svg = fs.readFileSync(path.join(folder, 'models.svg'), 'utf8');
    expect(svg).toMatch(/<svg[\s\S]*id="model_Edge"/);
    // The same diagram create-models-diagram draws.
    const diagram = path.join(tempDir(), 'diagram.svg');
    expect((await cli(['create-models-diagram', '-o', diagram])).code).toBe(0);
    expect(svg).toBe(fs.readFileSync(diagram, 'utf8'));
    // The link to the CLI reference leads to corral's README from where the manual is.
    const link = /\[corral's CLI reference\]\(([^)#]+)#cli-reference\)/.exec(written)![1]!;
    if (!/^https?:/.test(link)) expect(fs.existsSync(path.resolve(folder, link))).toBe(true);
  });
});

describe('doc comments', () => {
  test('when a file declares classes then each gets its JSDoc, and a model its table and column comments', () => {
    const text = [
      '/** The file. */',
      "import { model } from 'corral';",
      '',
      '/** A thing. */',
      "export class Thing extends model('things', {",
      '  /** The key. */',
      '  id: integer().primaryKey(),',
      '  // Above the line.',
      '  name: string(),',
      '  size: float(), // after the comma',
      '  plain: float(),',
      '}) {}',
      '',
      'class Hidden {}',
      'export { Hidden };',
    ].join('\n');
    const [thing, hidden] = classDocsOf('/x/models.ts', text);
    expect(thing).toMatchObject({ name: 'Thing', line: 5, exported: true, doc: 'A thing.', table: 'things' });
    expect(Object.fromEntries(thing!.columns)).toEqual({ id: 'The key.', name: 'Above the line.', size: 'after the comma' });
    expect(hidden).toMatchObject({ name: 'Hidden', exported: true, doc: undefined, table: undefined });
  });
});

/** A manual built in this process from classes declared in the test, as `create-doc` builds it. */
async function manualOf(user: Record<string, unknown>, registry: Partial<Registry> = {}, extra: Partial<PipelineDocInput> = {}): Promise<PipelineDocInput> {
  const settings = resolveSettings({ name: 'inline', connection: 'sqlite:inline.db', logLevel: 'silent', models: [], ...user }, path.join(tempDir(), 'inline', 'settings.ts'));
  const commands: CommandEntry[] = (await commandsFor(settings)).map((c) => ({ name: c.name, mode: c.mode, custom: c.pipelineClass }));
  return {
    settings,
    registry: { loader: undefined, steps: [], alerts: [], commands: [], ...registry },
    program: await commandLineProgram(settings),
    commands,
    docs: new DocIndex([]),
    ...extra,
  };
}

class Item extends model('item', {
  id: integer().primaryKey(),
  name: string(40),
  at: datetime(),
  meta: json(),
}) {}

describe('create-doc on pipelines built in the test', () => {
  test('when the pipeline declares nothing then every section says so, and the built-in commands point to the README', async () => {
    const doc = pipelineDocMarkdown(await manualOf({}));
    expect(doc).toContain('_No description: set `description` in the settings._');
    for (const what of ['Models', 'Loader', 'Steps', 'Alerts', 'Pipeline commands']) expect(doc).toContain(`- **${what}:** none`);
    expect(doc).toContain('## Models\n\nThe pipeline declares no models.\n');
    expect(doc).toContain('## Loader\n\nThe pipeline has no loader.\n');
    expect(doc).toContain('## Steps\n\nThe pipeline has no steps.\n');
    expect(doc).toContain('## Alerts\n\nThe pipeline has no alerts.\n');
    expect(doc).toContain('## Pipeline commands\n\nThe pipeline defines no commands of its own.\n');
    expect(doc).toContain("Their options are in corral's README (CLI reference)");
  });

  test('when the pipeline is on PostgreSQL then the SQL of a step is PostgreSQL, with its orderings and its bindings as literals', async () => {
    class Pick extends Step<Item> {
      static override model = Item;
      static override ordering = ['name', { column: 'id', order: 'desc' as const }];
      static override conditions = [where((q) => q.whereRaw('?? = ? or ?? < ? or ?? = ?', ['name', null, 'at', new Date('2020-01-02T03:04:05Z'), 'meta', { a: 1 }]))];
      process() {}
    }
    const doc = pipelineDocMarkdown(await manualOf({ connection: 'postgresql://u@localhost/db', models: [Item] }, { steps: [Pick] }));
    expect(doc).toContain('- **Order:** `name`, `id` descending');
    expect(doc).toContain('**Selects** the rows matching 1 condition, in PostgreSQL:');
    expect(doc).toContain('SELECT * FROM "item"\nWHERE ("name" = ? or "at" < ? or "meta" = ?)\nORDER BY "name" asc, "id" desc');
    expect(doc).toContain("**Bindings** (the `?` in order): `NULL`, `'2020-01-02T03:04:05.000Z'`, `{\"a\":1}`");
  });

  test('when conditions cannot be compiled then the step says why instead of showing SQL', async () => {
    class Broken extends Step<Item> {
      static override model = Item;
      static override conditions = [
        where(() => {
          throw new Error('no such\ncolumn');
        }),
      ];
      process() {}
    }
    class Thrower extends Step<Item> {
      static override model = Item;
      static override conditions = [where(() => { throw 'a plain string'; })];
      process() {}
    }
    const doc = pipelineDocMarkdown(await manualOf({ models: [Item] }, { steps: [Broken, Thrower] }));
    expect(doc).toContain('**Conditions:** 1 (they could not be compiled to SQL: no such column)');
    expect(doc).toContain('**Conditions:** 1 (they could not be compiled to SQL: a plain string)');
    expect(doc).not.toContain('```sql');
  });

  test('when a step has no model, an alert no endpoints and a custom endpoint a path, the manual shows what there is', async () => {
    class Housekeeping extends Step {
      process() {}
    }
    class Silent extends Alert<Item> {
      static override model = Item;
      static override alertTo = [];
    }
    class Unset extends Alert<Item> {
      static override model = Item;
    }
    class Drop extends Endpoint {
      readonly path = '`drop`.txt';
      process() {}
    }
    class Plain extends Endpoint {
      process() {}
    }
    class Loud extends Alert<Item> {
      static override model = Item;
      static override alertTo = [new Drop(), new Plain()];
    }
    const doc = pipelineDocMarkdown(await manualOf({ models: [Item] }, { steps: [Housekeeping], alerts: [Silent, Unset, Loud] }));
    const housekeeping = doc.slice(doc.indexOf('### Step `Housekeeping`'), doc.indexOf('## Alerts'));
    expect(housekeeping).not.toContain('**Model:**');
    expect(housekeeping).not.toContain('**Order:**');
    expect(housekeeping).not.toContain('**Selects**');
    expect(housekeeping).not.toContain('**Source:**');
    expect(doc.slice(doc.indexOf('### Alert `Silent`'), doc.indexOf('### Alert `Unset`'))).toContain('- **Endpoints:** none');
    expect(doc.slice(doc.indexOf('### Alert `Unset`'), doc.indexOf('### Alert `Loud`'))).toContain('- **Endpoints:** none');
    expect(doc).toContain('  - `Drop` (path `` `drop`.txt ``)\n  - `Plain`\n');
  });

  test('when a class has no doc comment nor description then it takes that of its nearest documented pipeline superclass', async () => {
    class Base extends Step<Item> {
      static override model = Item;
      process() {}
    }
    class Middle extends Base {}
    class Leaf extends Middle {}
    const docs = new DocIndex(classDocsOf(path.join(tempDir(), 'inline', 'steps.ts'), '/** Does the base thing. */\nexport class Base {}\nclass Middle {}\nclass Leaf {}\n'));
    const doc = pipelineDocMarkdown(await manualOf({ models: [Item] }, { steps: [Leaf] }, { docs }));
    expect(doc).toContain('### Step `Leaf`\n\nDoes the base thing.\n\n- **Source:** `inline/steps.ts:4`');
  });

  test('when a pipeline command has required options, choices, and optional, variadic and defaulted arguments then its tables say so', async () => {
    class Tidy extends Command {
      static override mode = 'out' as const;
      static override configure(cmd: CommanderCommand): void {
        cmd
          .addArgument(new CommanderArgument('[kind]', 'what to tidy').choices(['a', 'b']).default('`a`'))
          .argument('[rest...]', 'the others')
          .requiredOption('--level <n>', 'how much')
          .addOption(new CommanderOption('--style <s>', 'which style').choices(['x', 'y']));
      }
      handle() {}
    }
    /** Same words. */
    class Echo extends Command {
      static override description = 'Same words.';
      static override mode = 'out' as const;
      handle() {}
    }
    const docs = new DocIndex(classDocsOf(path.join(tempDir(), 'inline', 'commands.ts'), '/** Same words. */\nexport class Echo {}\n'));
    const doc = pipelineDocMarkdown(await manualOf({ commands: [Tidy, Echo] }, {}, { docs }));
    const tidy = doc.slice(doc.indexOf('### `tidy`'), doc.indexOf('### `echo`'));
    expect(tidy).toContain('- **Class:** `Tidy`\n');
    expect(tidy).toContain('| `[kind]` | what to tidy (one of `a`, `b`; default `` `a` ``) |');
    expect(tidy).toContain('| `[rest...]` | the others |');
    expect(tidy).toContain('| `--level <n>` | how much (required) |');
    expect(tidy).toContain('| `--style <s>` | which style (one of `x`, `y`) |');
    const echo = doc.slice(doc.indexOf('### `echo`'), doc.indexOf('## Built-in commands'));
    // The doc comment says what the description says: once.
    expect(echo.match(/Same words\./g)).toHaveLength(1);
    expect(echo).toContain('- **Class:** `Echo` (`inline/commands.ts:2`)');
  });

  test('when two models have the same class name then the one of the documented table comes first and the other keeps its place', () => {
    const One = class Thing extends model('one', { id: integer().primaryKey() }) {};
    const Two = class Thing extends model('two', { id: integer().primaryKey() }) {};
    const Loose = class Loose extends model('loose', { id: integer().primaryKey() }) {};
    const file = path.join(tempDir(), 'inline', 'models.ts');
    const docs = new DocIndex(classDocsOf(file, "class Thing extends model('two', {}) {}\n/** The second. */\nexport class Thing extends model('two', {}) {}\n"));
    expect(docs.find('Thing', { table: 'one' })?.line).toBe(3);
    expect(docs.find('Thing', { table: 'two' })?.doc).toBe('The second.');
    // None exported: the one of the table, else the first.
    const hidden = new DocIndex(classDocsOf(file, "class Thing extends model('one', {}) {}\nclass Thing extends model('two', {}) {}\n"));
    expect(hidden.find('Thing', { table: 'two' })?.line).toBe(2);
    expect(hidden.find('Thing')?.line).toBe(1);
    expect(inSourceOrder([Loose, One, Two], docs).map((m) => m.table)).toEqual(['loose', 'one', 'two']);
    expect(inSourceOrder([Two, One], docs).map((m) => m.table)).toEqual(['two', 'one']);
  });

  test('when a description holds a fenced block then the headings inside it are not in the contents', async () => {
    const description = 'Example:\n\n````md\n```ts\n## Not a section\n```\n````\n\nThe end.';
    const doc = pipelineDocMarkdown(await manualOf({ description }));
    expect(doc).toContain('## Not a section');
    expect(doc.slice(doc.indexOf('## Contents'), doc.indexOf('## Models'))).not.toContain('Not a section');
    expect(doc.indexOf('## Contents')).toBeGreaterThan(doc.indexOf('The end.'));
  });

  test('when a listed command is not on the command line then it is left out of the manual', async () => {
    const input = await manualOf({});
    const doc = pipelineDocMarkdown({ ...input, commands: [...input.commands, { name: 'ghost', mode: 'out', custom: undefined }, { name: 'spook', mode: 'out', custom: Command as unknown as CommandClass }] });
    expect(doc).not.toContain('ghost');
    expect(doc).not.toContain('### `spook`');
  });

  test('when the HTML page gets only the lineage as SVG then it is inline and there is no class diagram', async () => {
    const html = await pipelineDocHtml(await manualOf({ models: [Item] }, {}, { lineage: { svg: '<?xml version="1.0"?><svg id="the-lineage"></svg>' } }));
    expect(html).toContain('<div id="lineage-diagram" class="diagram"><svg id="the-lineage"></svg></div>');
    expect(html).not.toContain('<div id="models-diagram"');
    const withImages = await pipelineDocHtml(await manualOf({ models: [Item] }, {}, { lineage: { image: 'l.svg' }, diagram: { image: 'm.svg' } }));
    expect(withImages).toContain('src="l.svg"');
    expect(withImages).toContain('src="m.svg"');
  });
});

describe('doc comments of unusual declarations', () => {
  test('when columns have quoted, numeric, computed or spread names and comments of every shape then only line comments next to them count', () => {
    const text = [
      'const key = "k";',
      "export class Odd extends model(TABLE, {",
      '  ...base,',
      '  /** */',
      "  'quoted-name': string(), // the quoted one",
      '  /* a block comment */',
      '  1: integer(),',
      '  // far above',
      '',
      '  // first line',
      '  // second line',
      '  near: integer(),',
      '  [key]: integer(), // computed',
      '  empty: integer(), //',
      '}) {}',
    ].join('\n');
    const [odd] = classDocsOf('/x/models.ts', text);
    expect(odd).toMatchObject({ name: 'Odd', table: undefined, doc: undefined });
    expect(Object.fromEntries(odd!.columns)).toEqual({ 'quoted-name': 'the quoted one', near: 'first line second line' });
  });

  test('when the file is JavaScript or TSX then its classes are found too', () => {
    expect(classDocsOf('/x/a.js', '/** In JS. */\nclass A {}\nmodule.exports = { A };')).toMatchObject([{ name: 'A', doc: 'In JS.', exported: false }]);
    expect(classDocsOf('/x/b.tsx', '/** In TSX. */\nexport class B { render() { return <div />; } }')).toMatchObject([{ name: 'B', doc: 'In TSX.', exported: true }]);
  });
});
