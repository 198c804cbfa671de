/**
 * One raw PostgreSQL client process (g), forked by bench/run.js: it connects,
 * says `ready`, waits for `go`, runs its share of the raw loop and reports. The
 * parent times from `go` to the last `done`, so process start and connection are
 * left out, as the raw loops are timed in-process.
 */
import { pgStep } from './raw.js';

const [url, index, count] = process.argv.slice(2);
process.once('message', async () => {
  try {
    const rows = await pgStep(url, Number(index), Number(count));
    process.send({ type: 'done', rows }, () => process.disconnect());
  } catch (error) {
    process.send({ type: 'failed', message: String(error?.stack ?? error) }, () => process.disconnect());
  }
});
process.send({ type: 'ready' });
