// ESLint flat config for corral itself (ESLint 10, typescript-eslint 8).
// `npm run lint` runs `eslint .`: it checks src/, test/, bin/, examples/, the
// JavaScript under templates/ and the configuration files at the root.
// ESLint 10 takes the eslint.config.js nearest to each file, so an example pipeline
// that has its own (examples/<name>/eslint.config.js, the `corral/eslint` preset of
// templates/eslint-preset.js) is linted by that one, as its users would lint it.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node's globals for plain .js files (the `globals` package is not a dependency;
// the ECMAScript built-ins come with ecmaVersion). TypeScript files need none:
// tsc resolves names there, and typescript-eslint turns no-undef off for them.
const nodeGlobals = Object.fromEntries(
  [
    'AbortController', 'AbortSignal', 'Blob', 'Buffer', 'BroadcastChannel', 'DOMException', 'Event', 'EventTarget',
    'FormData', 'Headers', 'MessageChannel', 'MessagePort', 'Request', 'Response', 'TextDecoder', 'TextEncoder',
    'URL', 'URLSearchParams', 'WebAssembly', 'atob', 'btoa', 'clearImmediate', 'clearInterval', 'clearTimeout',
    'console', 'crypto', 'fetch', 'global', 'performance', 'process', 'queueMicrotask', 'setImmediate',
    'setInterval', 'setTimeout', 'structuredClone',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  {
    // Build output, dependencies, coverage reports, and the scaffold's templates
    // (`*-tpl` files hold `<%= name %>` holes and are not valid code until rendered).
    ignores: ['dist/**', '**/node_modules/**', 'coverage/**', 'templates/**/*-tpl', '.corral/**', 'tmp/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    // ESLint 10 looks up the config file nearest to each linted file, so the example
    // pipelines' own eslint.config.js files load in the same process; with several
    // candidates typescript-eslint cannot guess its root and must be told.
    languageOptions: { parserOptions: { tsconfigRootDir: import.meta.dirname } },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: nodeGlobals },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly' } },
  },
  {
    rules: {
      // The codebase marks deliberately unused parameters with a leading underscore
      // (`teardown(_error?: unknown)`: the signature documents what subclasses receive).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // A warning, not an error: `any` appears on purpose in a handful of type-level
      // escape hatches (`abstract new (...args: any[]) => any` for "any class",
      // `Step<Row = any>`, `ModelClass<R = any>`, `Column<any, boolean>`), where
      // `unknown` would break assignability of user classes. New uses still show up.
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
);
