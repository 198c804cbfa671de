// The one test file of every `node in_corral.js test` run: it registers the
// pipeline's TestCases with vitest. corral's own code stays outside vite.
import { afterAll, describe, test } from 'vitest';
import { registerPipelineTests } from '../../dist/qa/vitest-runtime.js';

await registerPipelineTests({ afterAll, describe, test });
