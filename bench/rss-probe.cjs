// Preloaded into every Node process the benchmark starts, through
// NODE_OPTIONS="--require <this file>", which forked children inherit: at exit,
// each process writes its own peak resident set size to BENCH_RSS_DIR/<pid>.json.
// (process.resourceUsage().maxRSS is in kilobytes; 'exit' handlers must be synchronous.)
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS file, for --require */
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.BENCH_RSS_DIR;
// Preloads run in worker threads too (a PostgreSQL worker's heartbeat thread), which share
// the process's pid and its RSS: only the main thread writes. The record is written aside
// and renamed into place, so that a reader never finds a file cut short (a process killed
// in the middle of writing leaves only its temporary file, which the reader skips).
const { isMainThread } = require('node:worker_threads');
if (dir && isMainThread) {
  process.on('exit', () => {
    try {
      const record = { pid: process.pid, ppid: process.ppid, maxRssKb: process.resourceUsage().maxRSS, argv: process.argv.slice(1, 4) };
      const file = path.join(dir, `${process.pid}.json`);
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(record));
      fs.renameSync(`${file}.tmp`, file);
    } catch {
      // Never let the probe change a process's outcome.
    }
  });
}
