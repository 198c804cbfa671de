import type { CliCommand } from '../command-spec.js';
import { checkAlerts } from './check-alerts.js';
import { coverage } from './coverage.js';
import { create } from './create.js';
import { createDoc } from './create-doc.js';
import { createModelsDiagram } from './create-models-diagram.js';
import { createdb } from './createdb.js';
import { dbshell } from './dbshell.js';
import { exec } from './exec.js';
import { failures } from './failures.js';
import { groups, lsalerts, lssteps } from './listings.js';
import { load } from './load.js';
import { makemigrations } from './makemigrations.js';
import { migrate } from './migrate.js';
import { migrations } from './migrations.js';
import { profile } from './profile.js';
import { qareport } from './qareport.js';
import { run } from './run.js';
import { serve } from './serve.js';
import { runAll } from './run-all.js';
import { runs } from './runs.js';
import { shell } from './shell.js';
import { status } from './status.js';
import { style } from './style.js';
import { test } from './test.js';
import { typecheck } from './typecheck.js';

/** The built-in commands, in the order `--help` lists them. */
export const builtinCommands: readonly CliCommand[] = [create, createdb, makemigrations, migrate, migrations, load, run, checkAlerts, runAll, lssteps, lsalerts, groups, status, runs, failures, serve, test, coverage, style, typecheck, qareport, createDoc, createModelsDiagram, profile, shell, dbshell, exec];
