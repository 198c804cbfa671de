// Preloaded into every Node process the benchmark starts, through
// NODE_OPTIONS="--require <this file>", which forked children inherit: at exit,
// each process writes its own peak resident set size to BENCH_RSS_DIR/<pid>.json.
// (process.resourceUsage().maxRSS is in kilobytes; 'exit' handlers must be synchronous.)
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS file, for --require */
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.BENCH_RSS_DIR;
if (dir) {
  process.on('exit', () => {
    try {
      const record = { pid: process.pid, ppid: process.ppid, maxRssKb: process.resourceUsage().maxRSS, argv: process.argv.slice(1, 4) };
      fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(record));
    } catch {
      // Never let the probe change a process's outcome.
    }
  });
}
