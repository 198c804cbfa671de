/**
 * One raw PostgreSQL client process, forked by pgStepProcesses (bench/raw-pg.js):
 * it starts, says `ready`, waits for `go`, connects, runs its share of the raw step and
 * reports. The parent times from `go` to the last `done` (the in-process figure).
 */
import { pgStep } from './raw-pg.js';

const [url, index, count, variant] = process.argv.slice(2);
process.once('message', async () => {
  try {
    const rows = await pgStep(url, Number(index), Number(count), variant);
    process.send({ type: 'done', rows }, () => process.disconnect());
  } catch (error) {
    process.send({ type: 'failed', message: String(error?.stack ?? error) }, () => process.disconnect());
  }
});
process.send({ type: 'ready' });
