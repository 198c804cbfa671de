#!/usr/bin/env node
// The `corral` command. Outside a pipeline it offers `create`; inside a pipeline
// folder (one holding in_corral.js) it runs that pipeline's commands.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const entry = path.resolve('in_corral.js');
if (process.argv[2] !== 'create' && !process.env.CORRAL_SETTINGS && fs.existsSync(entry)) {
  await import(pathToFileURL(entry).href);
} else {
  const { exitWhenIdle, runFromCommandLine } = await import('../dist/cli/main.js');
  exitWhenIdle(await runFromCommandLine(process.argv.slice(2)));
}
