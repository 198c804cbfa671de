/**
 * The lineage graph in this process: which node and edge each processor, model and
 * endpoint gives, and the DOT text drawn from it. (test/e2e/lineage.test.ts runs the
 * command on a scaffolded pipeline.)
 */
import path from 'node:path';
import knexFactory from 'knex';
import { afterAll, describe, expect, test } from 'vitest';
import { resolveSettings } from '../../src/conf/settings.js';
import { conditionText, lineageDot, pipelineLineage, type Lineage } from '../../src/docs/lineage.js';
import { Alert, Email, File, integer, Loader, model, Step, string, Webhook } from '../../src/index.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-lineage-');
const sqlite = knexFactory({ client: 'better-sqlite3', useNullAsDefault: true });

afterAll(async () => {
  await sqlite.destroy();
});

class Star extends model('stars', { id: integer().primaryKey(), name: string(20) }) {}
class Note extends model('Note', { id: integer().primaryKey() }) {}

describe('conditionText', () => {
  test('when a condition is given in any of its forms then it reads as a few words, long values cut', () => {
    expect(conditionText(['name', null])).toBe('name is null');
    expect(conditionText(['name', 'vega'])).toBe("name = 'vega'");
    expect(conditionText(['mag', '<', 12])).toBe('mag < 12');
    expect(conditionText(['name', 'in', ['a-rather-long-name', 'another-long-name']])).toBe('name in ["a-rather-long-name","…');
    expect(conditionText(['name', undefined])).toBe('name = undefined');
    expect(conditionText({ name: null, mag: 3 })).toBe('name is null and mag = 3');
    expect(conditionText((q) => q.where('mag', 1))).toBe('(query)');
    expect(conditionText(sqlite.raw('mag > 1'))).toBe('(sql)');
  });
});

describe('pipelineLineage', () => {
  function lineageOf(registry: Parameters<typeof pipelineLineage>[1], learned?: Map<string, Set<string>>) {
    const settings = resolveSettings({ name: 'sky', connection: 'sqlite:sky.db', logLevel: 'silent', models: [Star, Note] }, path.join(tempDir(), 'sky', 'settings.ts'));
    return pipelineLineage(settings, registry, learned);
  }

  test('when processors read, write and deliver then each gives its node and edges, writes marked learned, declared or both', () => {
    class Feed extends Loader {
      static override writes = [Star];
      *generate() {}
    }
    class Tidy extends Step {
      static override writes = [Star, Note];
      process() {}
    }
    class Bright extends Alert<Star> {
      static override model = Star;
      static override alertTo = [
        new Email({ to: ['a@x.org', 'b@x.org', 'c@x.org'] }),
        new Email({ to: 'd@x.org' }),
        new Webhook({ url: 'https://hooks.example.org/secret/token' }),
        new Webhook({ url: () => 'https://from.settings/' }),
        new Webhook({ url: 'not a url' }),
        new File((s) => `${s.name}.log`),
      ];
    }
    const lineage = lineageOf({ loader: Feed, steps: [Tidy], alerts: [Bright], commands: [] }, new Map([
      ['Feed', new Set(['stars'])],
      ['Tidy', new Set(['elsewhere'])],
    ]));
    const node = (id: string) => lineage.nodes.find((n) => n.id === id);
    expect(node('model_stars')).toEqual({ id: 'model_stars', kind: 'model', name: 'Star', detail: 'table stars' });
    expect(node('model_Note')).toEqual({ id: 'model_Note', kind: 'model', name: 'Note' });
    // A table only a run wrote, not among the models: named by its table.
    expect(node('model_elsewhere')).toEqual({ id: 'model_elsewhere', kind: 'model', name: 'elsewhere' });
    const writes = lineage.edges.filter((e) => e.kind === 'writes').map((e) => `${e.from}->${e.to}:${e.source}`);
    expect(writes).toEqual(['loader_Feed->model_stars:both', 'step_Tidy->model_elsewhere:learned', 'step_Tidy->model_stars:declared', 'step_Tidy->model_Note:declared']);
    // A step without a model reads nothing.
    expect(lineage.edges.filter((e) => e.kind === 'reads').map((e) => `${e.from}->${e.to}:${e.label}`)).toEqual(['model_stars->alert_Bright:every row']);
    expect(lineage.nodes.filter((n) => n.kind === 'endpoint').map((n) => n.detail)).toEqual(['a@x.org, b@x.org, …', 'd@x.org', 'hooks.example.org', '(URL from settings)', undefined, '(path from settings)']);
    // Without a loader: no loader node.
    const bare = lineageOf({ loader: undefined, steps: [Tidy], alerts: [], commands: [] });
    expect(bare.nodes.filter((n) => n.kind !== 'model').map((n) => n.id)).toEqual(['step_Tidy']);
  });
});

describe('lineageDot', () => {
  test('when edges have no label or source then the tooltips say every row and learned, and without a title the graph is called lineage', () => {
    const lineage: Lineage = {
      nodes: [
        { id: 'model_a', kind: 'model', name: 'A' },
        { id: 'step_s', kind: 'step', name: 'S' },
      ],
      edges: [
        { from: 'model_a', to: 'step_s', kind: 'reads' },
        { from: 'step_s', to: 'model_b', kind: 'writes' },
      ],
    };
    const dot = lineageDot(lineage);
    expect(dot).toMatch(/^digraph "lineage" \{/);
    expect(dot).not.toContain('labelloc');
    expect(dot).toContain('"model_a" -> "step_s" [id="reads_model_a_step_s", color="#6f7c89", tooltip="reads every row"];');
    expect(dot).toContain('"step_s" -> "model_b" [id="writes_step_s_model_b", color="#2e5f8a", tooltip="writes (learned)"];');
    const titled = lineageDot(lineage, { title: 'Sky <lineage>' });
    expect(titled).toMatch(/^digraph "Sky <lineage>" \{/);
    expect(titled).toContain('label=<<B>Sky &lt;lineage&gt;</B>>');
  });
});
