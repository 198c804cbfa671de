/** core/format.ts: one way to write counts, rates, durations and times everywhere. */
import { expect, test } from 'vitest';
import { formatCount, formatDuration, formatEta, formatPercent, formatRate, formatTimestamp } from '../../src/core/format.js';

test('when counts are written then they are grouped by thousands with commas, whatever the locale', () => {
  expect([0, 7, 999, 1000, 2884, 1234567].map(formatCount)).toEqual(['0', '7', '999', '1,000', '2,884', '1,234,567']);
});

test('when rates are written then slow ones keep a decimal and fast ones are whole and grouped', () => {
  expect([0, 2.54, 9.96, 10.4, 12345.6, Number.NaN].map(formatRate)).toEqual(['0.0/s', '2.5/s', '10.0/s', '10/s', '12,346/s', '-/s']);
});

test('when a share is written then it is a whole percent, rounded down and capped, and nothing to do is 100%', () => {
  expect([formatPercent(0, 10), formatPercent(999, 1000), formatPercent(12, 10), formatPercent(0, 0)]).toEqual(['0%', '99%', '100%', '100%']);
});

test('when durations are written then under a minute they keep two decimals, then minutes and seconds, then hours and minutes', () => {
  expect([0.004, 1.5, 59.994, 125, 3599.4, 7620].map(formatDuration)).toEqual(['0.00 s', '1.50 s', '59.99 s', '2m 05s', '59m 59s', '2h 07m']);
});

test('when an ETA is written then it rounds up whole seconds, uses durations past a minute, and says ? before any rate', () => {
  expect([formatEta(100, 30), formatEta(10_000, 50), formatEta(5, 0), formatEta(0, 0)]).toEqual(['ETA 4s', 'ETA 3m 20s', 'ETA ?', 'ETA 0s']);
});

test('when a moment is written then it is UTC to the second', () => {
  expect(formatTimestamp('2026-12-06T10:09:15.678Z')).toBe('2026-12-06 10:09:15');
  expect(formatTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe('2026-01-02 03:04:05');
});

test('when counts are grouped by hand then the text is what Intl en-US writes, for every kind of number', () => {
  const intl = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const values = [0, -0, 0.4, 0.5, 1.5, 2.5, 999, 999.5, 1000, 12_345, 123_456, 1_234_567.49, 1_000_000, 987_654_321, 2 ** 31, 2 ** 53 - 2, 2 ** 53, 1e21, -1, -2.5, -1234, NaN, Infinity, -Infinity];
  // Whole numbers and halves of every length, and fractions near the halves.
  for (let digits = 1; digits <= 16; digits++) {
    const n = 10 ** digits / 7;
    values.push(Math.floor(n), Math.floor(n) + 0.5, n, n - 0.5 + 1e-9);
  }
  for (const n of values) expect(formatCount(n), String(n)).toBe(intl.format(n));
});
