import type { CommandSpec } from '../command-spec.js';
import { checkAlerts } from './check-alerts.js';
import { coverage } from './coverage.js';
import { create } from './create.js';
import { createdb } from './createdb.js';
import { groups, lsalerts, lssteps } from './listings.js';
import { load } from './load.js';
import { qareport } from './qareport.js';
import { run } from './run.js';
import { runAll } from './run-all.js';
import { style } from './style.js';
import { test } from './test.js';

/** The built-in commands, in the order `--help` lists them. */
export const builtinCommands: readonly CommandSpec[] = [create, createdb, load, run, checkAlerts, runAll, lssteps, lsalerts, groups, test, coverage, style, qareport];
