#!/usr/bin/env node
/**
 * A raw loop as a program of its own: the whole-process counterpart of a corral
 * command, timed from outside (spawn → exit) exactly as `node in_corral.js …` is.
 * It prints one JSON line, `{ rows, seconds }`, where `seconds` is its in-process
 * time (connection opening to close), the counterpart of corral's run records.
 *
 *   node bench/raw-cli.js sqlite-load   <file> <rows>
 *   node bench/raw-cli.js sqlite-step   <file> <columns|star>
 *   node bench/raw-cli.js sqlite-alerts <file> <alert-file> <columns|star>
 *   node bench/raw-cli.js sqlite-alerts-bounded <file> <alert-file> <columns|star>   (a transaction per row: corral's crash bound)
 *   node bench/raw-cli.js sqlite-all    <file> <rows> <alert-file> <columns|star>   (load, step, alerts)
 *   node bench/raw-cli.js pg-load       <url> <rows>
 *   node bench/raw-cli.js pg-step       <url> <clients> <columns|star>
 *
 * Each work imports only its own driver (better-sqlite3 or pg), as a minimal program would.
 */
import { performance } from 'node:perf_hooks';

const [work, ...args] = process.argv.slice(2);

// Only the driver of the work is imported, before the clock starts: the in-process time is the loop's.
const driver = work?.startsWith('pg-') ? await import('./raw-pg.js') : await import('./raw.js');

const works = {
  'sqlite-load': ([file, n]) => driver.sqliteLoad(file, Number(n)),
  'sqlite-step': ([file, variant]) => driver.sqliteStep(file, variant),
  'sqlite-alerts': ([file, log, variant]) => driver.sqliteAlerts(file, log, variant),
  'sqlite-alerts-bounded': ([file, log, variant]) => driver.sqliteAlertsBounded(file, log, variant),
  'sqlite-all': ([file, n, log, variant]) => driver.sqliteLoad(file, Number(n)) + driver.sqliteStep(file, variant) + driver.sqliteAlerts(file, log, variant),
  'pg-load': ([url, n]) => driver.pgLoad(url, Number(n)),
  // One client works in this process; several are forked, and timed from `go` (all started).
  'pg-step': async ([url, clients, variant]) => (Number(clients) === 1 ? driver.pgStep(url, 0, 1, variant) : driver.pgStepProcesses(url, Number(clients), variant)),
};

const run = works[work];
if (!run) {
  process.stderr.write(`raw-cli: unknown work '${work}' (${Object.keys(works).join(', ')})\n`);
  process.exit(2);
}
const started = performance.now();
const result = await run(args);
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify(typeof result === 'number' ? { rows: result, seconds } : result)}\n`);
