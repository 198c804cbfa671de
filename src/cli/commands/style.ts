import { runStyle } from '../../qa/style.js';
import { defineCommand, envOf, type NoOptions } from '../command-spec.js';

export const style = defineCommand<NoOptions>({
  name: 'style',
  summary: "Check the style of the pipeline's source with eslint (its eslint.config.js): each error with file:line:col, and the count",
  mode: 'out',
  toolchain: ['eslint', '@eslint/js', 'typescript-eslint', 'typescript'],
  async handle(context) {
    const env = envOf(context);
    const result = await runStyle(env.settings);
    for (const m of result.messages) context.output.out(`${m.file}:${m.line}:${m.column}: ${m.rule} ${m.message}\n`);
    context.output.out(`${result.errors} style error(s) in ${result.files} file(s)\n`);
    return result.errors > 0 ? 1 : 0;
  },
});
