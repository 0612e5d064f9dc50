/** L2 strengths tried for logistic regression when the run gives none (Keras l2(λ): λ·Σw²). */
export const L2_GRID: readonly number[] = [1e-4, 1e-3, 1e-2, 1e-1, 1];

/**
 * The candidate with the lowest score (validation loss), `scores[i]` being candidate i's. Ties go
 * to the earlier candidate; a candidate whose score is not a finite number (training diverged) is
 * skipped.
 */
export function selectL2(candidates: readonly number[], scores: readonly number[]): number {
  if (candidates.length === 0) throw new RangeError('selectL2 needs at least one candidate');
  if (scores.length !== candidates.length) throw new RangeError(`selectL2 got ${scores.length} scores for ${candidates.length} candidates`);
  let best: { l2: number; score: number } | undefined;
  candidates.forEach((l2, i) => {
    const score = scores[i];
    if (Number.isFinite(score) && (!best || score < best.score)) best = { l2, score };
  });
  if (!best) throw new Error(`no L2 candidate gave a finite validation loss (tried ${candidates.join(', ')})`);
  return best.l2;
}
