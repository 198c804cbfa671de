/** `status --check`'s verdict (run/status.ts healthProblems) on statuses as pipelineStatus gives them. */
import { expect, test } from 'vitest';
import { healthProblems, type ProcessorStatus } from '../../src/run/status.js';

const healthy: ProcessorStatus = {
  processor: 'MyStep',
  kind: 'step',
  backlog: 12,
  inFlight: 5,
  staleWorkers: 0,
  deadWorkers: 0,
  retrying: 2,
  quarantined: 0,
  lastRun: { startedAt: '2024-01-01T00:00:00.000Z', endedAt: '2024-01-01T00:01:00.000Z', status: 'stopped', outcome: 'stopped', rows: 10, failedRows: 2, host: 'h', pid: 1, error: null },
};

test('when rows back off, work waits and the last run was stopped then nothing is a problem', () => {
  expect(healthProblems([healthy, { ...healthy, processor: 'Loader', kind: 'loader', backlog: null, lastRun: null }])).toEqual([]);
});

test('when every problem is there then each gets one line naming the processor, in a fixed order', () => {
  const sick: ProcessorStatus = {
    ...healthy,
    staleWorkers: 2,
    deadWorkers: 1,
    quarantined: 3,
    lastRun: { ...healthy.lastRun!, status: 'failed', outcome: 'failed', error: 'MyStep failed: boom' },
  };
  expect(healthProblems([sick]).map((p) => [p.problem, p.message])).toEqual([
    ['quarantined', "MyStep: 3 rows quarantined (see 'failures MyStep'; 'failures --retry' after fixing)"],
    ['stale', 'MyStep: 2 workers marked running with no heartbeat for more than leaseSeconds'],
    ['dead', 'MyStep: 1 worker marked running whose process is gone (killed or crashed; its chunk was rolled back)'],
    ['last-run-failed', 'MyStep: last run failed at 2024-01-01T00:01:00.000Z: MyStep failed: boom'],
  ]);
});

test('when the last run could not start then that is a problem, and a run stopped while waiting for the lock is not', () => {
  const notStarted: ProcessorStatus = { ...healthy, lastRun: { ...healthy.lastRun!, status: 'not-started', outcome: 'not-started', rows: 0, failedRows: 0, error: 'locked for 300 s' } };
  expect(healthProblems([notStarted]).map((p) => p.message)).toEqual(['MyStep: last run could not start at 2024-01-01T00:00:00.000Z: locked for 300 s']);
  const stoppedWaiting: ProcessorStatus = { ...healthy, lastRun: { ...notStarted.lastRun!, status: 'stopped-waiting', outcome: 'stopped-waiting' } };
  expect(healthProblems([stoppedWaiting])).toEqual([]);
});
