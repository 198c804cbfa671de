import { runTypecheck } from '../../qa/typecheck.js';
import { defineCommand, envOf, type NoOptions } from '../command-spec.js';

export const typecheck = defineCommand<NoOptions>({
  name: 'typecheck',
  summary: "Type-check the pipeline's TypeScript with its tsconfig.json: each error with file:line:col, and the count",
  mode: 'out',
  toolchain: ['typescript', '@types/node'],
  async handle(context) {
    const env = envOf(context);
    const result = await runTypecheck(env.settings);
    for (const e of result.errors) context.output.out(`${e.file ? `${e.file}:${e.line}:${e.column}: ` : ''}${e.code} ${e.message}\n`);
    context.output.out(`${result.errors.length} type error(s) in ${result.files} file(s)\n`);
    return result.errors.length > 0 ? 1 : 0;
  },
});
