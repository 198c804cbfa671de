/** Levenshtein distance, small and allocation-light: names here are short. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The closest candidates to `word` (case-insensitive), for "Did you mean …?". */
export function suggestSimilar(word: string, candidates: readonly string[]): string[] {
  const lower = word.toLowerCase();
  const scored = candidates
    .map((candidate) => ({ candidate, d: editDistance(lower, candidate.toLowerCase()) }))
    .filter(({ candidate, d }) => d <= Math.max(2, Math.floor(candidate.length / 3)) || candidate.toLowerCase().includes(lower));
  const best = Math.min(...scored.map((s) => s.d));
  return scored.filter((s) => s.d === best).map((s) => s.candidate);
}

/** " (Did you mean X?)" or "" when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const similar = suggestSimilar(word, candidates);
  if (similar.length === 0) return '';
  return ` (Did you mean ${similar.join(' or ')}?)`;
}

/**
 * The one name of `known` that `word` is very likely a slip for, or undefined.
 * Stricter than suggestSimilar, because a miss here is an error and `word` may be a
 * legitimate name of the user's own. Case, `_` and `-` aside (`chunksize`,
 * `chunk_size`), a slip is: one edit from a name of 6 to 9 letters, two from a longer
 * one (`leaseSecond`, `maxAttempt`); a short name without its plural `s` (`step`);
 * or the first two or more camelCase words of a name (`retryDelay` for
 * `retryDelaySeconds`; a one-word `retry` or `lease` may well be the user's own).
 */
export function nearMiss(word: string, known: readonly string[]): string | undefined {
  if (known.includes(word)) return undefined;
  const plain = (name: string) => name.toLowerCase().replace(/[_-]/g, '');
  const slip = plain(word);
  for (const name of known) {
    const target = plain(name);
    if (slip === target || slip + 's' === target) return name;
    if (target.length >= 6 && editDistance(slip, target) <= (target.length >= 10 ? 2 : 1)) return name;
    if (/^[a-z]+[A-Z]/.test(word) && name.startsWith(word) && /[A-Z]/.test(name[word.length] ?? '')) return name;
  }
  return undefined;
}
