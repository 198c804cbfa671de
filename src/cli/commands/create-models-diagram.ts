import { Option } from 'commander';
import { frameworkModels } from '../../db/bookkeeping/models.js';
import { learnedWritesOf, lineageDot, pipelineLineage } from '../../docs/lineage.js';
import { modelsDiagramDot } from '../../docs/models-diagram.js';
import { renderGraph, type GraphFormat } from '../../docs/render-graph.js';
import { defineCommand, envOf } from '../command-spec.js';
import { documentTarget, writeDocument, type DocumentFormats } from '../document-output.js';

const DIAGRAM_FORMATS: DocumentFormats<GraphFormat> = { extensions: { dot: ['dot', 'gv'], svg: ['svg'], png: ['png'] }, standardOutput: 'dot', fileOnly: ['png'] };

/** The options of `create-models-diagram`, as `configure` declares them. */
type DiagramOptions = { output?: string; format?: GraphFormat; all?: boolean; lineage?: boolean };

export const createModelsDiagram = defineCommand<DiagramOptions>({
  name: 'create-models-diagram',
  summary: 'Draw the class diagram of the models and their foreign keys, or with --lineage which processor reads and writes which model (Graphviz DOT, SVG or PNG; no Graphviz install needed)',
  mode: 'out',
  configure(cmd) {
    cmd
      .option('-o, --output <file>', 'write the diagram to this file (default: DOT on standard output)')
      .addOption(new Option('--format <format>', 'dot, svg or png (default: from the file extension; dot on standard output)').choices(Object.keys(DIAGRAM_FORMATS.extensions)))
      .option('--all', "include corral's own tables (corral_*)")
      .option('--lineage', 'draw the lineage instead: loader → model → step → model → alert → endpoint; what each processor writes is learned from its recorded runs, plus its `static writes`')
      .addHelpText(
        'after',
        `
--lineage reads corral_runs in the pipeline's database for the models each
processor's runs wrote; without a database (or before any run) it draws what the
processors declare (\`static writes = [Model]\`, dashed when no run has shown it).`,
      );
  },
  async handle(context, options) {
    const env = envOf(context);
    const target = documentTarget(options, DIAGRAM_FORMATS);
    if (options.lineage && options.all) {
      context.output.err("Error: --all adds corral's tables to the class diagram; the lineage has none: leave --all out\n");
      return 1;
    }
    const models = options.all ? [...env.settings.models, ...frameworkModels] : env.settings.models;
    let dot: string;
    let what: string;
    if (options.lineage) {
      const { learned, reason } = await learnedWritesOf(env.settings.connection, env.settings.leaseSeconds);
      if (reason) context.output.err(`Note: ${reason}; the lineage shows only the writes the processors declare\n`);
      dot = lineageDot(pipelineLineage(env.settings, env.registry, learned), { title: `${env.settings.name} lineage` });
      what = 'lineage diagram';
    } else {
      dot = modelsDiagramDot(models, { title: `${env.settings.name} models` });
      what = `diagram of ${models.length} model${models.length === 1 ? '' : 's'}`;
    }
    const rendered = await renderGraph(dot, target.format);
    writeDocument(context.output, target, rendered, `the ${target.format.toUpperCase()} ${what}`);
    return 0;
  },
});
