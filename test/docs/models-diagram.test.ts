/**
 * `create-models-diagram`: the DOT text parses and renders with Graphviz (WASM),
 * the SVG holds every model and foreign key of the examples, PNG is a real PNG,
 * and names that are DOT or HTML keywords break nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { instance } from '@viz-js/viz';
import { beforeAll, describe, expect, test } from 'vitest';
import { runFromCommandLine } from '../../src/cli/main.js';
import { memoryOutput } from '../../src/core/output.js';
import { Alerted } from '../../src/db/bookkeeping/models.js';
import type { ModelClass } from '../../src/db/model.js';
import { dotString, htmlText, modelsDiagramDot } from '../../src/docs/models-diagram.js';
import * as fixtureModels from '../fixtures/docs-pipeline/docpipe/models.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { describeResult, runCli } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-diagram-');
const settingsFile = path.join(REPO_ROOT, 'test', 'fixtures', 'docs-pipeline', 'docpipe', 'settings.ts');
type Viz = Awaited<ReturnType<typeof instance>>;
let viz: Viz;

beforeAll(async () => {
  viz = await instance();
});

/** The models and foreign keys of the two example pipelines, as their models.ts declare them. */
const EXAMPLES = {
  iris: { models: ['Name', 'Flower', 'Statistics'], foreignKeys: ['Flower_name_id', 'Statistics_name_id'] },
  exoplanets: { models: ['Planet', 'HabitableZoneStats'], foreignKeys: ['HabitableZoneStats_planet_id'] },
} as const;

function example(name: keyof typeof EXAMPLES, args: string[]) {
  return runCli(['in_corral.js', ...args], { cwd: path.join(REPO_ROOT, 'examples', name), env: { IRIS_DB: undefined, EXO_DB: undefined } });
}

/** Every `<g id="...">` of an SVG. */
function svgIds(svg: string): string[] {
  return [...svg.matchAll(/<g id="([^"]+)"/g)].map((m) => m[1]!);
}

describe('DOT text', () => {
  test('when names are DOT keywords or hold quotes then every identifier is a quoted string and label text is escaped', () => {
    expect(dotString('node')).toBe('"node"');
    expect(dotString('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
    expect(htmlText('<b> & "x"')).toBe('&lt;b&gt; &amp; &quot;x&quot;');
  });

  test('when the models use reserved words as table, column and relation names then the DOT parses and renders without error', () => {
    const dot = modelsDiagramDot(Object.values(fixtureModels) as ModelClass[], { title: 'graph <"edge"> & node' });
    const result = viz.render(dot, { format: 'svg' });
    expect(result.errors).toEqual([]);
    expect(result.status).toBe('success');
    const svg = result.status === 'success' ? result.output : '';
    expect(svgIds(svg)).toEqual(expect.arrayContaining(['model_Graph', 'model_Node', 'model_Edge', 'fk_Edge_node', 'fk_Edge_name', 'fk_Node_graph']));
    for (const text of ['function', 'class', 'strict', 'subgraph', 'table node', 'table edge', 'graph &lt;&quot;edge&quot;&gt; &amp; node']) {
      expect(svg).toContain(`>${text}</text>`);
    }
    // One edge per foreign key, with its column and multiplicities.
    expect(dot).toMatch(/"edge":"c\d+e":e -> "node" \[id="fk_Edge_node", label="node", taillabel="\*", headlabel="1"/);
    expect(dot).toMatch(/-> "node" \[id="fk_Edge_name", label="name", taillabel="\*", headlabel="0\.\.1"/);
  });

  test('when a foreign key points at a table outside the diagram then a dashed placeholder node stands for it', () => {
    const dot = modelsDiagramDot([fixtureModels.Node as ModelClass]);
    expect(dot).toContain('"graph" [id="table_graph", shape=box, style="dashed,rounded"');
    expect(viz.render(dot, { format: 'svg' }).status).toBe('success');
  });
});

describe('create-models-diagram of the fixture', () => {
  async function cli(argv: string[]) {
    const output = memoryOutput();
    const code = await runFromCommandLine(argv, { settingsFile, output });
    return { code, stdout: output.stdout, stderr: output.stderr };
  }

  test('when it runs without -o then the DOT goes to standard output and renders', async () => {
    const result = await cli(['create-models-diagram']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^digraph "docpipe models" \{/);
    expect(result.stdout).not.toContain('corral_');
    expect(viz.render(result.stdout, { format: 'svg' }).status).toBe('success');
  });

  test("when --all is given then corral's own tables are drawn too, and the command says which file it wrote", async () => {
    const file = path.join(tempDir(), 'all.svg');
    const result = await cli(['create-models-diagram', '--all', '-o', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`^Wrote the SVG diagram of \\d+ models to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`));
    const svg = fs.readFileSync(file, 'utf8');
    expect(svgIds(svg)).toEqual(expect.arrayContaining(['model_Graph', 'model_Node', 'model_Edge', `model_${Alerted.name}`]));
    expect(svg).toContain('>table corral_alerted</text>');
  });

  test('when --format png is asked then a real PNG image is written, whatever the file is called', async () => {
    const file = path.join(tempDir(), 'diagram.bin');
    const result = await cli(['create-models-diagram', '--format', 'png', '-o', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`Wrote the PNG diagram of 3 models to ${file}\n`);
    const png = fs.readFileSync(file);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBeGreaterThan(400); // width
    expect(png.readUInt32BE(20)).toBeGreaterThan(300); // height
    expect(png.length).toBeGreaterThan(20_000);
  });

  test('when -o ends in .png then PNG is the format, and without -o a PNG is refused', async () => {
    const file = path.join(tempDir(), 'diagram.png');
    expect((await cli(['create-models-diagram', '-o', file])).code).toBe(0);
    expect(fs.readFileSync(file).subarray(1, 4).toString('latin1')).toBe('PNG');
    const refused = await cli(['create-models-diagram', '--format', 'png']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('give -o FILE.png');
  });
});

describe('create-models-diagram of the examples', () => {
  for (const name of Object.keys(EXAMPLES) as (keyof typeof EXAMPLES)[]) {
    test(`when the ${name} diagram is written as SVG then it shows every model and every foreign-key edge`, async () => {
      const file = path.join(tempDir(), `${name}.svg`);
      const result = await example(name, ['create-models-diagram', '-o', file]);
      expect(result.code, describeResult(result)).toBe(0);
      expect(result.stderr).toContain(`Wrote the SVG diagram of ${EXAMPLES[name].models.length} models to ${file}`);
      const svg = fs.readFileSync(file, 'utf8');
      expect(svg).toMatch(/^<\?xml/);
      const ids = svgIds(svg);
      for (const model of EXAMPLES[name].models) {
        expect(ids).toContain(`model_${model}`);
        expect(svg).toContain(`>${model}</text>`);
      }
      expect(ids.filter((id) => id.startsWith('model_')).sort()).toEqual(EXAMPLES[name].models.map((m) => `model_${m}`).sort());
      expect(ids.filter((id) => id.startsWith('fk_')).sort()).toEqual(EXAMPLES[name].foreignKeys.map((fk) => `fk_${fk}`).sort());
    });
  }
});
