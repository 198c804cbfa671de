/**
 * The alerts' crash bound, on SQLite and on PostgreSQL: a `check-alerts` process
 * killed (SIGKILL) in the middle of sending re-sends at most ONE row when it is run
 * again, and loses none (README, "Duplicates").
 *
 * The scaffold's alert gets a second endpoint after its File: on the Nth row this
 * process sends, once the File has written that row's line, it kills its own process
 * with SIGKILL. So the kill falls where a crash costs the most: a row was delivered
 * and its corral_alerted record has not committed. Each line names the process that
 * wrote it, so the test can tell which process each repeat comes from. Two runs are
 * killed, then a third finishes the alert.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { usePipelineDb, waitFor, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/postgres.js';
import { alertFile } from '../helpers/scaffold-state.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-alert-crash-');
let scaffold: ScaffoldedPipeline | undefined;
const ROWS = 60;
/** Each killed run dies on the Nth row it sends. */
const KILLED_AT = [5, 7];

/** The alert of the scaffold, each line `pid=<pid> row=<id>`, and the endpoint that kills its own process. */
function addCrashingEndpoint(pipe: ScaffoldedPipeline): void {
  pipe.edit('alerts.ts', "import { Alert, File } from 'corral';", "import { Alert, Endpoint, File, type ModelInstance } from 'corral';");
  pipe.edit(
    'alerts.ts',
    '/** Writes a line',
    `/** On the E2E_CRASH_AFTER-th row this process sends, after the endpoints before it delivered it: SIGKILL. */
class CrashAfter extends Endpoint {
  private sent = 0;

  process(_row: ModelInstance): void {
    this.sent += 1;
    if (this.sent === Number(process.env.E2E_CRASH_AFTER)) process.kill(process.pid, 'SIGKILL');
  }
}

/** Writes a line`,
  );
  pipe.edit('alerts.ts', "[new File('my_alert.log')]", "[new File('my_alert.log'), new CrashAfter()]");
  pipe.edit(
    'alerts.ts',
    /(export class MyAlert extends [^{]+\{\n)/,
    `$1  override renderAlert(_now: Date, _endpoint: Endpoint, row: Example): string {
    return \`pid=\${process.pid} row=\${row.id}\\n\`;
  }

`,
  );
}

/** The alert log: which process sent which row, in order. */
function sentRows(pipe: ScaffoldedPipeline): { pid: number; row: number }[] {
  return fs
    .readFileSync(alertFile(pipe), 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => {
      const match = /^pid=(\d+) row=(\d+)$/.exec(line);
      expect(match, `unexpected line in the alert log: ${line}`).not.toBeNull();
      return { pid: Number(match![1]), row: Number(match![2]) };
    });
}

/** The keys of MyAlert's complete lines in a sent journal. */
function journalKeys(file: string): number[] {
  const text = fs.readFileSync(file, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string[])
    .filter(([alert]) => alert === 'MyAlert')
    .map(([, , key]) => Number(key));
}

/** Every matching row sent and recorded once, at most one repeat per killed process (the one it was sending). */
async function expectTheBound(pipe: ScaffoldedPipeline, db: PipelineDb, matching: number[]): Promise<void> {
  const sends = sentRows(pipe);
  const pids = [...new Set(sends.map((s) => s.pid))];
  // Three processes sent: the two killed ones (on their Nth row) and the one that finished.
  expect(pids).toHaveLength(3);
  expect(KILLED_AT.map((n, i) => sends.filter((s) => s.pid === pids[i]).length)).toEqual(KILLED_AT);

  // None lost: every matching row was sent, and corral_alerted remembers each once.
  const timesSent = new Map<number, number>();
  for (const { row } of sends) timesSent.set(row, (timesSent.get(row) ?? 0) + 1);
  expect([...timesSent.keys()].sort((a, b) => a - b)).toEqual(matching);
  const alerted = await db.query<{ model_key: string }>(`SELECT model_key FROM corral_alerted WHERE alert = 'MyAlert'`);
  expect(alerted.map((r) => Number(r.model_key)).sort((a, b) => a - b)).toEqual(matching);

  // At most twice each, and at most one repeat per killed process: the row it was sending when it died,
  // sent again by a later process.
  expect([...timesSent.values()].filter((times) => times > 2)).toEqual([]);
  pids.slice(0, KILLED_AT.length).forEach((pid, i) => {
    const later = new Set(sends.filter((s) => pids.indexOf(s.pid) > i).map((s) => s.row));
    const repeated = sends.filter((s) => s.pid === pid && later.has(s.row)).map((s) => s.row);
    expect(repeated.length, `rows of killed process ${pid} sent again later: ${repeated.join(', ')}`).toBeLessThanOrEqual(1);
  });
  expect(sends.length).toBeLessThanOrEqual(matching.length + KILLED_AT.length);
}

forEachDatabase((dialect) => {
  let pipe: ScaffoldedPipeline;
  let db: PipelineDb;
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    scaffold ??= await createPipeline(tempDir(), 'crashpipe');
    pipe = copyPipeline(scaffold, tempDir(), `crashpipe-${dialect}`);
    if (dialect === 'postgres') database = await createTestDatabase();
    db = usePipelineDb(pipe, dialect, database);
    pipe.edit('settings.ts', "logLevel: 'info'", "logLevel: 'warn'");
    addCrashingEndpoint(pipe);
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    await db.insertExamples(ROWS);
    await db.exec(`UPDATE "Example" SET processed = ${dialect === 'postgres' ? 'true' : '1'} WHERE id % 2 = 0`);
  });

  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  test('when check-alerts is killed while it sends then a rerun re-sends at most one row per killed process and loses none', async () => {
    const matching = await db.ids('processed');
    expect(matching).toHaveLength(ROWS / 2);

    for (const n of KILLED_AT) {
      const killed = await pipe.cli(['check-alerts'], { E2E_CRASH_AFTER: String(n) });
      expect(killed.code, 'the killed run fails').not.toBe(0);
      // PostgreSQL: the server rolls the killed session back when it sees the socket close; until then
      // its row lock would make the next run skip that row (SKIP LOCKED). Wait for the sessions to go.
      if (dialect === 'postgres') {
        const open = `SELECT count(*) AS n FROM pg_stat_activity a JOIN corral_runs r ON a.application_name = r.session WHERE r.processor = 'MyAlert'`;
        await waitFor('the killed alert sessions to end', async () => Number((await db.query<{ n: string }>(open))[0]!.n) === 0);
      }
    }
    expectExit(await pipe.cli(['check-alerts']), 0);

    await expectTheBound(pipe, db, matching);
  });
});

/**
 * SQLite files commit an alert's rows in batches; what a batch delivered before its
 * commit is in the process's sent journal (`<file>-corral-sent/`), which the next
 * batch of any process records. A kill at the 5th row of a batch leaves 4 rows
 * delivered and not committed: without the journal the next run would send them again.
 */
describe('sqlite, a kill in the middle of a batch', () => {
  let pipe: ScaffoldedPipeline;
  let db: PipelineDb;

  beforeAll(async () => {
    scaffold ??= await createPipeline(tempDir(), 'crashpipe');
    pipe = copyPipeline(scaffold, tempDir(), 'crashpipe-batch');
    db = usePipelineDb(pipe, 'sqlite');
    pipe.edit('settings.ts', "logLevel: 'info'", "logLevel: 'warn'");
    addCrashingEndpoint(pipe);
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    await db.insertExamples(ROWS);
    await db.exec('UPDATE "Example" SET processed = 1 WHERE id % 2 = 0');
  });

  afterAll(async () => {
    await db?.close();
  });

  test('when check-alerts is killed after a batch delivered several rows then its journal holds them and a rerun re-sends only the row in flight', async () => {
    const matching = await db.ids('processed');
    const journal = `${pipe.dbFile}-corral-sent`;
    const committed = async () => (await db.query<{ model_key: string }>(`SELECT model_key FROM corral_alerted WHERE alert = 'MyAlert'`)).map((r) => Number(r.model_key));

    for (const n of KILLED_AT) {
      const killed = await pipe.cli(['check-alerts'], { E2E_CRASH_AFTER: String(n) });
      expect(killed.code, 'the killed run fails').not.toBe(0);
      const sent = sentRows(pipe);
      const inFlight = sent.at(-1)!;
      // The rows delivered since the killed process's last commit are in its journal (a batch
      // also commits after 50 ms: on a very slow machine some may be committed instead). Every
      // row sent so far is in corral_alerted or in a journal, but the one in flight.
      expect(fs.existsSync(journal), 'the sent journal folder after the kill').toBe(true);
      const own = path.join(journal, fs.readdirSync(journal).find((name) => name.startsWith(`${inFlight.pid}-`))!);
      expect(journalKeys(own).length, 'rows delivered and not committed').toBeGreaterThan(0);
      const known = new Set([...(await committed()), ...fs.readdirSync(journal).flatMap((name) => journalKeys(path.join(journal, name)))]);
      const missing = [...new Set(sent.map((s) => s.row))].filter((row) => row !== inFlight.row && !known.has(row));
      expect(missing, 'sent rows neither committed nor in a journal').toEqual([]);
    }
    expectExit(await pipe.cli(['check-alerts']), 0);

    await expectTheBound(pipe, db, matching);
    // Replayed and gone with their dead processes; the last process removed its own and the folder.
    expect(fs.existsSync(journal)).toBe(false);
  });
});
