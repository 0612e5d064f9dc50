import { seededRandom } from './seeded-random';

/**
 * How much of a model's gap to "the best candidate on the evaluation split" is that split's own
 * sampling noise. The best of many candidates measured on a few hundred images is an optimistic
 * maximum: a candidate that is truly a little weaker can lead on this sample by luck. A bootstrap
 * (the evaluation images drawn again with replacement, every candidate and the model scored on the
 * same draw) shows how often a model stays within the margin of that draw's best, and how often the
 * candidate that is best on the whole split itself does: the rate no selection rule can beat by
 * reading the validation split alone.
 */
export interface ResampledGap {
  resamples: number;
  /** The margin, as a share of the images (0.005 = 0.5 point). */
  margin: number;
  /** The best candidate's accuracy on the whole split minus the model's (≥ 0 unless the model beats every candidate). */
  gap: number;
  /** Standard error of `gap`, paired by image (each image right or wrong for both). */
  gapStandardError: number;
  /** Share of draws in which the model is within `margin` of that draw's best candidate. */
  modelWithin: number;
  /** The same for the candidate best on the whole split (its index in `candidates`). */
  bestWithin: number;
  best: number;
  /** Mean over draws of (that draw's best candidate − the model), and of (it − the whole split's best candidate). */
  modelMeanShortfall: number;
  bestMeanShortfall: number;
}

/**
 * `candidates[c][i]` and `model[i]`: 1 where candidate c (the model) classifies evaluation image i
 * right, else 0. Seeded: the same inputs give the same figures.
 */
export function resampledGap(
  candidates: readonly Uint8Array[],
  model: Uint8Array,
  options: { margin?: number; resamples?: number; seed?: number } = {},
): ResampledGap {
  const margin = options.margin ?? 0.005;
  const resamples = options.resamples ?? 2000;
  const n = model.length;
  if (candidates.length === 0) throw new RangeError('resampledGap: no candidates to compare the model with');
  if (n === 0) throw new RangeError('resampledGap: the model was scored on no images');
  candidates.forEach((c, k) => {
    if (c.length !== n) throw new RangeError(`resampledGap: candidate ${k} was scored on ${c.length} images, the model on ${n}`);
  });
  if (!(margin >= 0 && margin < 1)) throw new RangeError(`resampledGap: margin ${margin} is not a share in [0, 1)`);
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resampledGap: resamples ${resamples} is not a positive integer`);

  const sum = (v: Uint8Array) => v.reduce((a, b) => a + b, 0);
  const totals = candidates.map(sum);
  const best = totals.indexOf(Math.max(...totals));
  const gap = (totals[best] - sum(model)) / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (candidates[best][i] - model[i]) ** 2;
  const gapStandardError = n > 1 ? Math.sqrt(Math.max(0, squares / n - gap * gap) / (n - 1)) : Infinity;

  const random = seededRandom(options.seed ?? 42, n, candidates.length);
  const counts = new Int32Array(n);
  // Exact ties count as within: a float margin of 0.5 point is 1.86 of 372 images, compared in counts.
  const slack = margin * n + 1e-9;
  let modelWithin = 0;
  let bestWithin = 0;
  let modelShortfall = 0;
  let bestShortfall = 0;
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[Math.floor(random() * n)]++;
    const correct = (v: Uint8Array) => {
      let s = 0;
      for (let i = 0; i < n; i++) if (v[i]) s += counts[i];
      return s;
    };
    let top = 0;
    let ofBest = 0;
    candidates.forEach((c, k) => {
      const s = correct(c);
      if (s > top) top = s;
      if (k === best) ofBest = s;
    });
    const ofModel = correct(model);
    if (top - ofModel <= slack) modelWithin++;
    if (top - ofBest <= slack) bestWithin++;
    modelShortfall += (top - ofModel) / n;
    bestShortfall += (top - ofBest) / n;
  }
  return {
    resamples,
    margin,
    gap,
    gapStandardError,
    modelWithin: modelWithin / resamples,
    bestWithin: bestWithin / resamples,
    best,
    modelMeanShortfall: modelShortfall / resamples,
    bestMeanShortfall: bestShortfall / resamples,
  };
}
