#!/usr/bin/env node
// Entry point of the exo pipeline: `node in_corral.js <command>`
// (`node in_corral.js --help` lists the commands).
import { fileURLToPath } from 'node:url';
import { exitWhenIdle, runFromCommandLine } from 'corral/cli';

process.env.CORRAL_SETTINGS ??= fileURLToPath(new URL('./exo/settings.ts', import.meta.url));
exitWhenIdle(await runFromCommandLine(process.argv.slice(2)));
