import path from 'node:path';
import { Option } from 'commander';
import type { CommandEntry, PipelineDocInput } from '../../docs/pipeline-doc.js';
import { commandReferenceLink } from '../../docs/command-reference.js';
import { commandNameOf, type CommandClass } from '../../run/command.js';
import { envOf, type CommandSpec } from '../command-spec.js';
import { documentTarget, writeDocument, type DocumentFormats } from '../document-output.js';

/** The class diagram a Markdown manual shows, written beside it (the name `create-models-diagram -o models.svg` gives too). */
const DIAGRAM_FILE = 'models.svg';

const MANUAL_FORMATS: DocumentFormats<'md' | 'html'> = { extensions: { md: ['md'], html: ['html', 'htm'] }, standardOutput: 'md' };

export const createDoc: CommandSpec = {
  name: 'create-doc',
  summary: "Write the pipeline's manual from its code: models, loader, steps, alerts and commands (Markdown or HTML)",
  mode: 'out',
  toolchain: ['typescript'],
  configure(cmd) {
    cmd
      .option('-o, --output <file>', 'write the manual to this file, and for Markdown the class diagram beside it as models.svg (default: standard output, no diagram)')
      .addOption(new Option('--format <format>', 'md or html (default: from the file extension; md on standard output)').choices(Object.keys(MANUAL_FORMATS.extensions)));
  },
  async handle(context, options) {
    const env = envOf(context);
    const target = documentTarget(options, MANUAL_FORMATS);
    const { file: output, format } = target;
    // Imported here: the command line imports this module through the list of commands.
    // pipeline-doc.js loads the TypeScript compiler (~1 s): only for this command, not for every command line.
    const [{ commandLineProgram }, { builtinCommands }, { pipelineDocHtml, pipelineDocMarkdown }] = await Promise.all([
      import('../main.js'),
      import('./index.js'),
      import('../../docs/pipeline-doc.js'),
    ]);
    const custom = env.settings.commands as unknown as CommandClass[];
    const commands: CommandEntry[] = [
      ...builtinCommands.map((spec) => ({ name: spec.name, mode: spec.mode, custom: undefined })),
      ...custom.map((Class) => ({ name: commandNameOf(Class), mode: Class.mode, custom: Class })),
    ];
    const folder = output ? path.dirname(path.resolve(output)) : process.cwd();
    // The class diagram: inline in HTML; in Markdown an image beside the manual (none on standard output: no place for it).
    const models = env.settings.models;
    let svg: string | undefined;
    if (models.length > 0 && (output || format === 'html')) {
      const [{ modelsDiagramDot }, { renderGraph }] = await Promise.all([import('../../docs/models-diagram.js'), import('../../docs/render-graph.js')]);
      svg = String(await renderGraph(modelsDiagramDot(models, { title: `${env.settings.name} models` }), 'svg'));
    }
    const input: PipelineDocInput = {
      settings: env.settings,
      registry: env.registry,
      program: commandLineProgram(env.settings),
      commands,
      commandReference: commandReferenceLink(folder),
      ...(svg === undefined ? {} : { diagram: format === 'html' ? { svg } : { image: DIAGRAM_FILE } }),
    };
    const text = format === 'html' ? await pipelineDocHtml(input) : pipelineDocMarkdown(input);
    const beside = output !== undefined && svg !== undefined && format !== 'html' ? [{ name: DIAGRAM_FILE, content: svg, what: 'its diagram' }] : [];
    writeDocument(context.output, target, text, 'the documentation', beside);
    return 0;
  },
};
