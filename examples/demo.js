#!/usr/bin/env node
// `npm run demo`: runs the exoplanets pipeline (examples/exoplanets) end to end
// against a fresh database in a temporary folder, then prints what it found.
//
// Each stage is a separate `node examples/exoplanets/in_corral.js <command>`
// process, exactly as a user would type it; EXO_DB and EXO_OUT (read by
// examples/exoplanets/exo/settings.ts) point the database and the alert output
// into the temporary folder, so the repository stays clean.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const repo = fileURLToPath(new URL('..', import.meta.url));
const entry = path.join(repo, 'examples', 'exoplanets', 'in_corral.js');
const shown = path.relative(process.cwd(), entry) || entry;

function fail(message) {
  process.stderr.write(`\ndemo: ${message}\n`);
  process.exit(1);
}

if (!fs.existsSync(path.join(repo, 'dist', 'cli', 'main.js'))) {
  fail('corral is not built yet: run `npm run build` first');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-exo-demo-'));
const dbFile = path.join(dir, 'exo.db');
const logFile = path.join(dir, 'in_habzone.log');
const svgFile = path.join(dir, 'in_habzone.svg');
const env = { ...process.env, EXO_DB: `sqlite:${dbFile}`, EXO_OUT: dir };
delete env.CORRAL_SETTINGS; // in_corral.js must find its own settings

process.stdout.write(`Running the exoplanets pipeline in ${dir}\n`);
for (const args of [['createdb', '--noinput'], ['load'], ['run'], ['check-alerts']]) {
  process.stdout.write(`\n$ node ${shown} ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [entry, ...args], { stdio: 'inherit', env });
  if (result.error) fail(`could not start node: ${result.error.message}`);
  if (result.status !== 0) {
    process.stderr.write(`\ndemo: '${args[0]}' failed (${result.signal ? `killed by ${result.signal}` : `exit code ${result.status}`}); the files are in ${dir}\n`);
    process.exit(result.status || 1);
  }
}

const db = new Database(dbFile, { readonly: true });
let summary;
let firstInZone;
try {
  const count = (sql) => db.prepare(sql).pluck().get();
  summary = [
    ['planets loaded', count('SELECT COUNT(*) FROM "Planet"')],
    ['planets with habitable-zone stats', count('SELECT COUNT(*) FROM "HabitableZoneStats"')],
    ['planets in the habitable zone', count('SELECT COUNT(*) FROM "HabitableZoneStats" WHERE in_habitable_zone = 1')],
  ];
  firstInZone = db
    .prepare(
      `SELECT p.name, h.radio_inner AS rin, p.sep, h.radio_outer AS rout
         FROM "HabitableZoneStats" h JOIN "Planet" p ON p.id = h.planet_id
        WHERE h.in_habitable_zone = 1
        ORDER BY p.id LIMIT 5`,
    )
    .all();
} finally {
  db.close();
}

for (const file of [logFile, svgFile]) if (!fs.existsSync(file)) fail(`the alert did not write ${file}`);
const logLines = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).length;
const points = (fs.readFileSync(svgFile, 'utf8').match(/<circle /g) ?? []).length;

const out = [];
out.push('', 'Results', '');
const width = Math.max(...summary.map(([label]) => label.length));
for (const [label, value] of summary) out.push(`  ${label.padEnd(width)}  ${String(value).padStart(6)}`);
out.push('');
if (firstInZone.length > 0) {
  out.push(`  First ${firstInZone.length} planets in the habitable zone (rin <= sep <= rout, in AU):`, '');
  const nameWidth = Math.max(4, ...firstInZone.map((row) => String(row.name).length));
  out.push(`    ${'name'.padEnd(nameWidth)}  ${'rin'.padStart(7)}  ${'sep'.padStart(7)}  ${'rout'.padStart(7)}`);
  for (const row of firstInZone) {
    out.push(`    ${String(row.name).padEnd(nameWidth)}  ${row.rin.toFixed(3).padStart(7)}  ${row.sep.toFixed(3).padStart(7)}  ${row.rout.toFixed(3).padStart(7)}`);
  }
  out.push('');
}
out.push(`  Alert log: ${logFile} (${logLines} lines)`);
out.push(`  Plot:      ${svgFile} (${points} points)`);
out.push(`  Database:  ${dbFile}`);
out.push('', `Remove the folder when done: rm -r ${dir}`, '');
process.stdout.write(out.join('\n'));
