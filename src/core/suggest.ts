/** Levenshtein distance, small and allocation-light: names here are short. */
function distance(a: string, b: string): number {
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
    .map((candidate) => ({ candidate, d: distance(lower, candidate.toLowerCase()) }))
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
