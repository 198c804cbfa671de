// Types of `corral/eslint` (templates/eslint-preset.js). eslint is one of the
// pipeline's devDependencies, as is everything this preset is used with.
import type { Linter } from 'eslint';

/**
 * The ESLint flat configuration of a corral pipeline: eslint's and typescript-eslint's
 * recommended rules, Node's globals, and type information from the tsconfig.json of
 * `rootDir` (the pipeline's folder: pass `import.meta.dirname`).
 */
export default function corralEslintConfig(rootDir: string): Linter.Config[];
