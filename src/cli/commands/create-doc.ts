import path from 'node:path';
import { Option } from 'commander';
import type { CommandEntry, PipelineDocInput } from '../../docs/pipeline-doc.js';
import { commandReferenceLink } from '../../docs/command-reference.js';
import { defineCommand, envOf } from '../command-spec.js';
import { documentTarget, writeDocument, type DocumentFormats } from '../document-output.js';

/** The class diagram a Markdown manual shows, written beside it (the name `create-models-diagram -o models.svg` gives too). */
const DIAGRAM_FILE = 'models.svg';
/** The lineage a Markdown manual shows, written beside it. */
const LINEAGE_FILE = 'lineage.svg';

const MANUAL_FORMATS: DocumentFormats<'md' | 'html'> = { extensions: { md: ['md'], html: ['html', 'htm'] }, standardOutput: 'md' };

/** The options of `create-doc`, as `configure` declares them. */
type CreateDocOptions = { output?: string; format?: 'md' | 'html' };

export const createDoc = defineCommand<CreateDocOptions>({
  name: 'create-doc',
  summary: "Write the pipeline's manual from its code: models, loader, steps, alerts and commands (Markdown or HTML)",
  mode: 'out',
  toolchain: ['typescript'],
  configure(cmd) {
    cmd
      .option('-o, --output <file>', 'write the manual to this file, and for Markdown the class diagram and the lineage beside it as models.svg and lineage.svg (default: standard output, no diagram)')
      .addOption(new Option('--format <format>', 'md or html (default: from the file extension; md on standard output)').choices(Object.keys(MANUAL_FORMATS.extensions)));
  },
  async handle(context, options) {
    const env = envOf(context);
    const target = documentTarget(options, MANUAL_FORMATS);
    const { file: output, format } = target;
    // Imported here: the command line imports this module through the list of commands.
    // pipeline-doc.js loads the TypeScript compiler (~1 s): only for this command, not for every command line.
    const [{ commandLineProgram, commandsFor }, { pipelineDocHtml, pipelineDocMarkdown }] = await Promise.all([import('../main.js'), import('../../docs/pipeline-doc.js')]);
    const commands: CommandEntry[] = (await commandsFor(env.settings)).map((command) => ({ name: command.name, mode: command.mode, custom: command.pipelineClass }));
    const folder = output ? path.dirname(path.resolve(output)) : process.cwd();
    // The class diagram: inline in HTML; in Markdown an image beside the manual (none on standard output: no place for it).
    const models = env.settings.models;
    let svg: string | undefined;
    if (models.length > 0 && (output || format === 'html')) {
      const [{ modelsDiagramDot }, { renderGraph }] = await Promise.all([import('../../docs/models-diagram.js'), import('../../docs/render-graph.js')]);
      svg = String(await renderGraph(modelsDiagramDot(models, { title: `${env.settings.name} models` }), 'svg'));
    }
    // The lineage, learned from the runs when the database is there (create-models-diagram --lineage).
    let lineageSvg: string | undefined;
    if (output || format === 'html') {
      const [{ learnedWritesOf, lineageDot, pipelineLineage }, { renderGraph }] = await Promise.all([import('../../docs/lineage.js'), import('../../docs/render-graph.js')]);
      const { learned } = await learnedWritesOf(env.settings.connection, env.settings.leaseSeconds);
      lineageSvg = String(await renderGraph(lineageDot(pipelineLineage(env.settings, env.registry, learned), { title: `${env.settings.name} lineage` }), 'svg'));
    }
    const input: PipelineDocInput = {
      settings: env.settings,
      registry: env.registry,
      program: await commandLineProgram(env.settings),
      commands,
      commandReference: commandReferenceLink(folder),
      ...(svg === undefined ? {} : { diagram: format === 'html' ? { svg } : { image: DIAGRAM_FILE } }),
      ...(lineageSvg === undefined ? {} : { lineage: format === 'html' ? { svg: lineageSvg } : { image: LINEAGE_FILE } }),
    };
    const text = format === 'html' ? await pipelineDocHtml(input) : pipelineDocMarkdown(input);
    const beside =
      output !== undefined && format !== 'html'
        ? [
            ...(svg === undefined ? [] : [{ name: DIAGRAM_FILE, content: svg, what: 'its diagram' }]),
            ...(lineageSvg === undefined ? [] : [{ name: LINEAGE_FILE, content: lineageSvg, what: 'its diagram' }]),
          ]
        : [];
    writeDocument(context.output, target, text, 'the documentation', beside);
    return 0;
  },
});
