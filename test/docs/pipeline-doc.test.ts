/**
 * `create-doc` on a fixture pipeline, in this process: the manual lists every
 * model, column, processor and command of the code, and the SQL the conditions
 * compile to.
 */
import fs from 'node:fs';
import path from 'node:path';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { builtinCommandNames } from '../../src/cli/commands/index.js';
import { runFromCommandLine } from '../../src/cli/main.js';
import { memoryOutput } from '../../src/core/output.js';
import { conditionsToSql } from '../../src/db/conditions.js';
import type { ModelClass } from '../../src/db/model.js';
import { classDocsOf } from '../../src/docs/doc-comments.js';
import { splitTopLevelAnd, wrapCondition } from '../../src/docs/pipeline-doc.js';
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
