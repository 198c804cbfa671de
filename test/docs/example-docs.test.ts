/**
 * The example pipelines ship their generated manual, class diagram and lineage
 * (examples/<name>/docs/doc.md, models.svg and lineage.svg): regenerated from the code now,
 * they must equal the committed files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';
import { describeResult, runCli } from '../helpers/run-cli.js';

test('when the examples\' docs are regenerated then they equal the committed doc.md, models.svg and lineage.svg (else: npm run docs:examples)', async () => {
  for (const name of ['iris', 'exoplanets']) {
    for (const file of ['doc.md', 'models.svg', 'lineage.svg']) expect(fs.existsSync(path.join(REPO_ROOT, 'examples', name, 'docs', file)), `${name}/docs/${file}`).toBe(true);
  }
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'examples', 'iris', 'docs', 'doc.md'), 'utf8');
  expect(doc).not.toMatch(/Created at|\d{4}-\d\d-\d\dT\d\d:\d\d/);
  const result = await runCli([path.join('scripts', 'regenerate-example-docs.js'), '--check'], { cwd: REPO_ROOT });
  expect(result.code, describeResult(result)).toBe(0);
  expect(result.stdout).toBe('The generated documents of iris, exoplanets are up to date.\n');
});
