// The eslint configuration corral scaffolds for pipelines: `import corral from
// 'corral/eslint'; export default corral(import.meta.dirname)`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default function corralEslintConfig(rootDir) {
  return tseslint.config(
    { ignores: ['node_modules/**', 'coverage/**', 'dist/**', 'migrations/**'] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
      files: ['**/*.ts'],
      languageOptions: { parserOptions: { tsconfigRootDir: rootDir } },
    },
  );
}
