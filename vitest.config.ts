import { defineConfig } from 'vitest/config';

/**
 * corral's own tests. Unit tests import src/ through vite; end-to-end tests spawn
 * the built CLI, so globalSetup compiles src/ to dist/ once before any file runs.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Pipelines' tests (templates/qa/pipeline.test.js) and examples run through
    // `node in_corral.js test`, never through this config.
    exclude: ['**/node_modules/**', 'templates/**', 'examples/**', 'dist/**'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // Two cores: every e2e test spawns processes that themselves fork children.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    server: {
      deps: {
        // dist/ is loaded by Node itself, as the forked children and pipelines load it,
        // so a test, a settings module and corral's runner share the same classes.
        external: [/\/dist\//],
      },
    },
  },
});
