/**
 * How numbers look wherever a person reads them: the progress line, the run summary,
 * `status`, `runs` and the `--dry-run` plan. One module, so that the same run shows
 * the same figures in every place (`--json` keeps plain numbers).
 */

// Creating an Intl formatter loads ICU data (some 25 ms of CPU), which the end of
// every run would pay for its summary: counts of rows (whole, not negative, below
// 2^53) are grouped by hand, the same text as Intl's; anything else goes to Intl.
let count: Intl.NumberFormat | undefined;

/** A count of rows: `1,234,567` (grouped by thousands, whatever the locale). */
export function formatCount(n: number): string {
  if (n >= 0 && n < Number.MAX_SAFE_INTEGER && !Object.is(n, -0)) {
    // Math.round rounds halves up, as Intl's default (halfExpand) does for positive numbers.
    return String(Math.round(n)).replace(/\B(?=(\d{3})+$)/g, ',');
  }
  count ??= new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  return count.format(n);
}

/** Rows per second: `1,234/s`; under 10 a second, one decimal (`2.5/s`). */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return '-/s';
  return perSecond < 10 ? `${(Math.round(perSecond * 10) / 10).toFixed(1)}/s` : `${formatCount(perSecond)}/s`;
}

/** How far: `42%` (`0%` of nothing to do is shown as `100%`: nothing is left). */
export function formatPercent(done: number, total: number): string {
  if (total <= 0) return '100%';
  return `${Math.min(100, Math.floor((done / total) * 100))}%`;
}

const two = (n: number) => String(n).padStart(2, '0');

/**
 * A duration: `0.42 s` under a minute (two decimals, as the summary always had),
 * `3m 05s` under an hour, `2h 07m` beyond.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  if (seconds < 60) return `${seconds.toFixed(2)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${two(whole % 60)}s`;
  return `${Math.floor(whole / 3600)}h ${two(Math.floor((whole % 3600) / 60))}m`;
}

/** What is left at the current rate: `ETA 3m 05s`, whole seconds under a minute; `ETA ?` before any row is done. */
export function formatEta(remaining: number, perSecond: number): string {
  if (remaining <= 0) return 'ETA 0s';
  if (!(perSecond > 0)) return 'ETA ?';
  const seconds = remaining / perSecond;
  return seconds < 60 ? `ETA ${Math.ceil(seconds)}s` : `ETA ${formatDuration(seconds)}`;
}

/** A moment, in UTC, to the second: `2026-12-06 10:09:15`. */
export function formatTimestamp(moment: Date | string): string {
  const date = typeof moment === 'string' ? new Date(moment) : moment;
  return date.toISOString().replace('T', ' ').slice(0, 19);
}
