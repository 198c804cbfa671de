/**
 * Issue 13 point 2: `create-models-diagram --lineage` on a scaffolded pipeline whose
 * step also yields rows of a second model and whose alert declares a write. Before
 * any run the diagram shows what is declared; after `run-all` it shows what the runs
 * wrote (corral_runs.wrote). SVG and PNG render; `create-doc` embeds it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { usePipelineDb, type PipelineDb } from '../helpers/pipeline-db.js';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-lineage-');
let pipe: ScaffoldedPipeline;
let db: PipelineDb;

/** The edges of a DOT text as "from -> to [attributes]" lines. */
function edges(dot: string): string[] {
  return dot.split('\n').filter((line) => line.includes(' -> ')).map((line) => line.trim());
}

const edge = (dot: string, from: string, to: string) => edges(dot).find((line) => line.startsWith(`"${from}" -> "${to}"`));

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'linpipe');
  db = usePipelineDb(pipe, 'sqlite');
  fs.appendFileSync(pipe.file('models.ts'), `\n/** One line per processed row. */\nexport class Note extends model('Note', { id: integer().primaryKey(), text: string(100).notNull() }) {}\n`);
  pipe.edit('steps.ts', "import { Example } from './models.js';", "import { Example, Note } from './models.js';");
  pipe.edit('steps.ts', '    row.processed = true;', '    row.processed = true;\n    return new Note({ text: `doubled ${row.name}` });');
  pipe.edit('alerts.ts', "import { Example } from './models.js';", "import { Example, Note } from './models.js';");
  pipe.edit('alerts.ts', '  static override alertTo', '  static override writes = [Note];\n  static override alertTo');
});

test('when nothing ran yet then the lineage shows the reads with their conditions, the endpoints, and the declared write dashed', async () => {
  const result = await pipe.cli(['create-models-diagram', '--lineage']);
  expectExit(result, 0);
  expect(result.stderr).toContain('does not exist yet; the lineage shows only the writes the processors declare');
  const dot = result.stdout;
  expect(edge(dot, 'model_Example', 'step_MyStep')).toContain('label="processed = false"');
  expect(edge(dot, 'model_Example', 'step_MyStep')).not.toContain('dir=both');
  expect(edge(dot, 'model_Example', 'alert_MyAlert')).toContain('label="processed = true"');
  expect(edge(dot, 'alert_MyAlert', 'endpoint_MyAlert_0')).toBeDefined();
  expect(dot).toMatch(/"endpoint_MyAlert_0" \[.*label=<File<BR\/><FONT[^>]*>my_alert\.log<\/FONT>>/);
  expect(edge(dot, 'alert_MyAlert', 'model_Note')).toContain('style=dashed');
  expect(edge(dot, 'loader_Loader', 'model_Example')).toBeUndefined();
  expect(edge(dot, 'step_MyStep', 'model_Example')).toBeUndefined();
});

test('when the pipeline has run then each processor\'s writes are learned from its runs and drawn solid', async () => {
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  expectExit(await pipe.cli(['run-all']), 0);
  const wrote = await db.query<{ processor: string; wrote: string | null }>('SELECT processor, wrote FROM corral_runs ORDER BY id');
  expect(Object.fromEntries(wrote.map((r) => [r.processor, r.wrote]))).toEqual({ Loader: '["Example"]', MyStep: '["Example","Note"]', MyAlert: null });
  const result = await pipe.cli(['create-models-diagram', '--lineage']);
  expectExit(result, 0);
  expect(result.stderr).toBe('');
  const dot = result.stdout;
  expect(edge(dot, 'loader_Loader', 'model_Example')).not.toContain('dashed');
  expect(edge(dot, 'step_MyStep', 'model_Note')).not.toContain('dashed');
  // The step writes back the model it reads: its read edge points both ways.
  expect(edge(dot, 'model_Example', 'step_MyStep')).toContain('dir=both');
  expect(edge(dot, 'step_MyStep', 'model_Example')).toBeUndefined();
  expect(edge(dot, 'model_Example', 'alert_MyAlert')).not.toContain('dir=both');
  expect(edge(dot, 'alert_MyAlert', 'model_Note')).toContain('style=dashed');
});

test('when the lineage is written as SVG and PNG then Graphviz lays it out with every node, and create-doc embeds it', async () => {
  const svgFile = path.join(tempDir(), 'out', 'lineage.svg');
  const svg = await pipe.cli(['create-models-diagram', '--lineage', '-o', svgFile]);
  expectExit(svg, 0);
  expect(svg.stderr).toBe(`Wrote the SVG lineage diagram to ${svgFile}\n`);
  const text = fs.readFileSync(svgFile, 'utf8');
  expect(text).toMatch(/^<\?xml[\s\S]*<svg /);
  for (const id of ['loader_Loader', 'model_Example', 'model_Note', 'step_MyStep', 'alert_MyAlert', 'endpoint_MyAlert_0']) expect(text).toContain(`id="${id}"`);
  expect(text).toContain('processed = false');
  const pngFile = path.join(tempDir(), 'out', 'lineage.png');
  expectExit(await pipe.cli(['create-models-diagram', '--lineage', '-o', pngFile]), 0);
  expect(fs.readFileSync(pngFile).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expectExit(await pipe.cli(['create-models-diagram', '--lineage', '--all']), 1);

  const docFile = path.join(tempDir(), 'doc', 'doc.md');
  const doc = await pipe.cli(['create-doc', '-o', docFile]);
  expectExit(doc, 0);
  expect(fs.readFileSync(docFile, 'utf8')).toContain('## Lineage\n');
  expect(fs.readFileSync(docFile, 'utf8')).toContain('![Lineage: loader, models, steps, alerts and endpoints](lineage.svg)');
  expect(fs.readFileSync(path.join(tempDir(), 'doc', 'lineage.svg'), 'utf8')).toContain('id="step_MyStep"');
  const html = await pipe.cli(['create-doc', '--format', 'html']);
  expectExit(html, 0);
  expect(html.stdout).toMatch(/<div id="lineage-diagram" class="diagram"><svg[\s\S]*id="model_Note"/);
});

test('when corral_runs was created without the wrote column then runs work, the lineage shows what is declared, and createdb adds the column', async () => {
  await db.exec('ALTER TABLE corral_runs DROP COLUMN wrote');
  await db.insertExamples(2, 100);
  expectExit(await pipe.cli(['run']), 0);
  const lineage = await pipe.cli(['create-models-diagram', '--lineage']);
  expectExit(lineage, 0);
  expect(edge(lineage.stdout, 'step_MyStep', 'model_Note')).toBeUndefined();
  expect(edge(lineage.stdout, 'alert_MyAlert', 'model_Note')).toContain('style=dashed');
  const created = await pipe.cli(['createdb', '--noinput']);
  expectExit(created, 0);
  expect(created.stdout).toContain("Added corral's new columns: corral_runs.wrote\n");
});
