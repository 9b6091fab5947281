/** The candidate closest to `word` by edit distance, if close enough to be a likely typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  return nearestAll(word, candidates)[0];
}

/**
 * Every candidate as close to `word` as the closest one, in the candidates' order, if close enough
 * to be a likely typo: "nyc9" is as near nyc1 as nyc3.
 */
export function nearestAll(word: string, candidates: readonly string[]): string[] {
  const distances = candidates.map((c) => editDistance(word.toLowerCase(), c.toLowerCase()));
  const best = Math.min(...distances);
  if (best > Math.max(2, Math.floor(word.length / 3))) return [];
  return candidates.filter((_, i) => distances[i] === best);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
