/**
 * `create-doc` on a fixture pipeline, in this process: the manual lists every
 * model, column, processor and command of the code, and the SQL the conditions
 * compile to.
 */
import fs from 'node:fs';
import path from 'node:path';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { builtinCommands } from '../../src/cli/commands/index.js';
import { runFromCommandLine } from '../../src/cli/main.js';
import { memoryOutput } from '../../src/core/output.js';
import { conditionsToSql } from '../../src/db/conditions.js';
import type { ModelClass } from '../../src/db/model.js';
import { classDocsOf } from '../../src/docs/doc-comments.js';
import { splitTopLevelAnd } from '../../src/docs/pipeline-doc.js';
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
      for (const clause of splitTopLevelAnd(sql)) expect(part).toContain(clause);
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

  test('when create-doc runs then every built-in command and the pipeline command are listed with their options and arguments', () => {
    for (const spec of builtinCommands) {
      expect(doc).toMatch(new RegExp(`^\\| \`${spec.name}\` \\| `, 'm'));
      expect(doc).toContain(`### \`${spec.name}\``);
    }
    const exported = section('### `export`');
    expect(exported).toContain('Export the graph');
    expect(exported).toContain('Writes the graph somewhere, in a format of your choice.');
    expect(exported).toContain('- **Usage:** `node in_corral.js export [options] <target>`');
    expect(exported).toContain('- **Works on:** no database');
    expect(exported).toContain('| `<target>` | where to write |');
    expect(exported).toContain('| `-f, --format <format>` | dot or json (default `dot`) |');
    expect(exported).toContain('| `--pretty` | indent the output |');
    expect(section('### `run`')).toContain('| `--sync` | run in this process, one after the other, in settings order |');
    expect(doc).toContain('| `--traceback` | print the full stack of errors |');
  });

  test('when create-doc runs twice then the output is identical (no timestamp)', async () => {
    const again = await cli(['create-doc']);
    expect(again.stdout).toBe(doc);
  });

  test('when -o names an .html file then a self-contained page is written and the command says where', async () => {
    const file = path.join(tempDir(), 'manual', 'docpipe.html');
    const result = await cli(['create-doc', '-o', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`Wrote the documentation to ${file}\n`);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<style>');
    expect(html).toContain('<h1>docpipe Documentation</h1>');
    expect(html).toContain('<table>');
    expect(html).toContain('Shown as &lt;label&gt; &amp; &quot;quoted&quot;');
    expect(html).not.toMatch(/<(link|script|img)\b/i);
    const markdown = path.join(tempDir(), 'docpipe.md');
    expect((await cli(['create-doc', '-o', markdown, '--format', 'md'])).code).toBe(0);
    expect(fs.readFileSync(markdown, 'utf8')).toBe(doc);
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
