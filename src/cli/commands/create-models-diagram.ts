import { Option } from 'commander';
import { frameworkModels } from '../../db/framework-models.js';
import { modelsDiagramDot } from '../../docs/models-diagram.js';
import { renderGraph, type GraphFormat } from '../../docs/render-graph.js';
import { envOf, type CommandSpec } from '../command-spec.js';
import { documentTarget, writeDocument, type DocumentFormats } from '../document-output.js';

const DIAGRAM_FORMATS: DocumentFormats<GraphFormat> = { extensions: { dot: ['dot', 'gv'], svg: ['svg'], png: ['png'] }, standardOutput: 'dot', fileOnly: ['png'] };

export const createModelsDiagram: CommandSpec = {
  name: 'create-models-diagram',
  summary: 'Draw the class diagram of the models and their foreign keys (Graphviz DOT, SVG or PNG; no Graphviz install needed)',
  mode: 'out',
  configure(cmd) {
    cmd
      .option('-o, --output <file>', 'write the diagram to this file (default: DOT on standard output)')
      .addOption(new Option('--format <format>', 'dot, svg or png (default: from the file extension; dot on standard output)').choices(Object.keys(DIAGRAM_FORMATS.extensions)))
      .option('--all', "include corral's own tables (corral_*)");
  },
  async handle(context, options) {
    const env = envOf(context);
    const target = documentTarget(options, DIAGRAM_FORMATS);
    const models = options.all ? [...env.settings.models, ...frameworkModels] : env.settings.models;
    const dot = modelsDiagramDot(models, { title: `${env.settings.name} models` });
    const rendered = await renderGraph(dot, target.format);
    writeDocument(context.output, target, rendered, `the ${target.format.toUpperCase()} diagram of ${models.length} model${models.length === 1 ? '' : 's'}`);
    return 0;
  },
};
