// The eslint configuration corral scaffolds for pipelines: `import corral from
// 'corral/eslint'; export default corral(import.meta.dirname)`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = {
  process: 'readonly',
  console: 'readonly',
  URL: 'readonly',
  Buffer: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setImmediate: 'readonly',
  structuredClone: 'readonly',
};

export default function corralEslintConfig(rootDir) {
  return tseslint.config(
    { ignores: ['node_modules/**', 'coverage/**', 'dist/**', 'migrations/**'] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    // Without a files filter: when eslint runs from a parent folder, every file of
    // the pipeline still resolves its tsconfig from the pipeline folder.
    { languageOptions: { parserOptions: { tsconfigRootDir: rootDir }, globals: nodeGlobals } },
    {
      rules: {
        // Hooks such as teardown(_error) name arguments they do not use.
        '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      },
    },
  );
}
