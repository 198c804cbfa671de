import fs from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import { frameworkModels } from '../../db/framework-models.js';
import { modelsDiagramDot } from '../../docs/models-diagram.js';
import { renderGraph, type GraphFormat } from '../../docs/render-graph.js';
import { defineCommand, envOf } from '../command-spec.js';

const FORMATS: readonly GraphFormat[] = ['dot', 'svg', 'png'];

/** The options of `create-models-diagram`, as `configure` declares them. */
type DiagramOptions = { output?: string; format?: GraphFormat; all?: boolean };

export const createModelsDiagram = defineCommand<DiagramOptions>({
  name: 'create-models-diagram',
  summary: 'Draw the class diagram of the models and their foreign keys (Graphviz DOT, SVG or PNG; no Graphviz install needed)',
  mode: 'out',
  configure(cmd) {
    cmd
      .option('-o, --output <file>', 'write the diagram to this file (default: DOT on standard output)')
      .addOption(new Option('--format <format>', 'dot, svg or png (default: from the file extension, else dot)').choices([...FORMATS]))
      .option('--all', "include corral's own tables (corral_*)");
  },
  async handle(context, options) {
    const env = envOf(context);
    const output: string | undefined = options.output;
    const extension = output ? path.extname(output).slice(1).toLowerCase() : '';
    const format: GraphFormat = options.format ?? (FORMATS.includes(extension as GraphFormat) ? (extension as GraphFormat) : 'dot');
    if (format === 'png' && !output) {
      context.output.err('Error: a PNG goes to a file: give -o FILE.png\n');
      return 1;
    }
    const models = options.all ? [...env.settings.models, ...frameworkModels] : env.settings.models;
    const dot = modelsDiagramDot(models, { title: `${env.settings.name} models` });
    const rendered = await renderGraph(dot, format);
    if (output) {
      fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
      fs.writeFileSync(output, rendered);
      context.output.err(`Wrote the ${format.toUpperCase()} diagram of ${models.length} model${models.length === 1 ? '' : 's'} to ${output}\n`);
    } else {
      context.output.out(String(rendered));
    }
    return 0;
  },
});
