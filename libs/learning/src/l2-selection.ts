/** L2 strengths tried for logistic regression when the run gives none (Keras l2(λ): λ·Σw²). */
export const L2_GRID: readonly number[] = [1e-4, 1e-3, 1e-2, 1e-1, 1];

/**
 * The candidate with the lowest score (validation loss), trying them one after another so that
 * only one head is in memory. Ties go to the earlier candidate; a candidate whose score is not a
 * finite number (training diverged) is skipped.
 */
export async function selectL2(
  candidates: readonly number[],
  trainAndScore: (l2: number) => Promise<number>,
  onScore?: (l2: number, score: number) => void,
): Promise<number> {
  if (candidates.length === 0) throw new RangeError('selectL2 needs at least one candidate');
  let best: { l2: number; score: number } | undefined;
  for (const l2 of candidates) {
    const score = await trainAndScore(l2);
    onScore?.(l2, score);
    if (Number.isFinite(score) && (!best || score < best.score)) best = { l2, score };
  }
  if (!best) throw new Error(`no L2 candidate gave a finite validation loss (tried ${candidates.join(', ')})`);
  return best.l2;
}
