#!/usr/bin/env node
// Regenerates the generated documents of the example pipelines from their code:
// examples/<pipeline>/docs/doc.md (`create-doc`), models.svg (`create-models-diagram`)
// and lineage.svg (`create-models-diagram --lineage`, which the manual shows). Run
// through `npm run docs:examples`, which builds dist/ first (the examples run the
// built corral).
//
//   node scripts/regenerate-example-docs.js           write the files
//   node scripts/regenerate-example-docs.js --check   write nothing; exit 1 when a committed file is stale
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Each example and its settings module (what its in_corral.js points at). */
const EXAMPLES = { iris: 'iris/settings.ts', exoplanets: 'exo/settings.ts' };
const DOCUMENTS = [
  { file: 'doc.md', args: ['create-doc'] },
  { file: 'lineage.svg', args: ['create-models-diagram', '--lineage'] },
  { file: 'models.svg', args: ['create-models-diagram'] },
];

// What a plain shell has: nothing that points an example elsewhere (the settings read these).
for (const key of Object.keys(process.env)) {
  if (/^(CORRAL_|IRIS_|EXO_)/.test(key) || key === 'DATABASE_URL') delete process.env[key];
}
// The lineage learns what processors write from a database's recorded runs: the
// examples point at one that does not exist, so that their documents depend on the
// code only, not on whether someone ran an example here.
process.env.IRIS_DB = process.env.EXO_DB = 'sqlite:.no-such-database-for-docs.db';

/** Writes every document of one example into `outDir` (the commands run in this process); returns the paths written. */
async function generate(example, outDir) {
  const { runFromCommandLine } = await import(pathToFileURL(path.join(ROOT, 'dist', 'cli', 'main.js')).href);
  const settingsFile = path.join(ROOT, 'examples', example, EXAMPLES[example]);
  fs.mkdirSync(outDir, { recursive: true });
  const written = [];
  for (const { file, args } of DOCUMENTS) {
    const target = path.join(outDir, file);
    let said = '';
    const output = { out: (text) => (said += text), err: (text) => (said += text), interactive: false };
    const code = await runFromCommandLine([...args, '-o', target], { settingsFile, output });
    if (code !== 0) {
      process.stderr.write(`${example}: '${args.join(' ')}' failed (exit ${code}):\n${said}`);
      process.exit(2);
    }
    written.push(target);
  }
  return written;
}

if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
  process.stderr.write('dist/ is missing: build corral first (npm run build), or use npm run docs:examples\n');
  process.exit(2);
}

const check = process.argv.includes('--check');
if (check) {
  const stale = [];
  const work = [];
  try {
    for (const example of Object.keys(EXAMPLES)) {
      // Beside docs/, at the same depth: the manual links to corral's README by a relative path.
      const dir = fs.mkdtempSync(path.join(ROOT, 'examples', example, '.docs-check-'));
      work.push(dir);
      for (const fresh of await generate(example, dir)) {
        const committed = path.join(ROOT, 'examples', example, 'docs', path.basename(fresh));
        if (!fs.existsSync(committed) || !fs.readFileSync(committed).equals(fs.readFileSync(fresh))) {
          stale.push(path.relative(ROOT, committed));
        }
      }
    }
  } finally {
    for (const dir of work) fs.rmSync(dir, { recursive: true, force: true });
  }
  if (stale.length > 0) {
    process.stderr.write(`Stale generated documents (the code changed since they were made):\n${stale.map((f) => `  ${f}`).join('\n')}\nRegenerate them with: npm run docs:examples\n`);
    process.exit(1);
  }
  process.stdout.write(`The generated documents of ${Object.keys(EXAMPLES).join(', ')} are up to date.\n`);
} else {
  for (const example of Object.keys(EXAMPLES)) {
    for (const written of await generate(example, path.join(ROOT, 'examples', example, 'docs'))) process.stdout.write(`Wrote ${path.relative(ROOT, written)}\n`);
  }
}
