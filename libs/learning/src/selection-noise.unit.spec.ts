import { seededRandom } from './seeded-random';
import { resampledGap } from './selection-noise';

/** n images, each right with probability `accuracy`, drawn from `seed`. */
function scored(n: number, accuracy: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => (random() < accuracy ? 1 : 0));
}

describe('resampledGap', () => {
  it('a model that is the best candidate is within any margin on every draw', () => {
    const best = scored(372, 0.89, 1);
    const result = resampledGap([scored(372, 0.8, 2), best], best, { resamples: 200 });
    expect(result.best).toBe(1);
    expect(result.gap).toBe(0);
    expect(result.modelMeanShortfall).toBe(result.bestMeanShortfall);
    expect(result.gapStandardError).toBe(0);
    expect(result.modelWithin).toBe(1);
    expect(result.bestWithin).toBe(1);
  });

  it('a model ten points below a candidate on the same images is never within half a point', () => {
    const strong = Uint8Array.from({ length: 300 }, (_, i) => (i < 270 ? 1 : 0));
    const weak = Uint8Array.from({ length: 300 }, (_, i) => (i < 240 ? 1 : 0));
    const result = resampledGap([strong], weak, { resamples: 200 });
    expect(result.gap).toBeCloseTo(0.1, 10);
    expect(result.modelWithin).toBe(0);
    expect(result.bestWithin).toBe(1);
    expect(result.modelMeanShortfall).toBeGreaterThan(0.08);
  });

  it('among many equally good candidates, even the best on the whole split often falls behind a draw’s best', () => {
    // 44 candidates of the same true accuracy, scored independently on 372 images: the one that
    // leads on this sample leads by luck, and another leads on most resamples by more than half a point.
    const candidates = Array.from({ length: 44 }, (_, k) => scored(372, 0.88, 100 + k));
    const result = resampledGap(candidates, candidates[0], { resamples: 500 });
    expect(result.bestWithin).toBeLessThan(0.9);
    expect(result.bestMeanShortfall).toBeGreaterThan(0);
    expect(result.modelMeanShortfall).toBeGreaterThanOrEqual(result.bestMeanShortfall);
  });

  it('is deterministic for a seed', () => {
    const candidates = Array.from({ length: 5 }, (_, k) => scored(200, 0.85, k));
    const a = resampledGap(candidates, candidates[3], { resamples: 300, seed: 7 });
    const b = resampledGap(candidates, candidates[3], { resamples: 300, seed: 7 });
    expect(a).toEqual(b);
  });

  it('refuses inputs it cannot compare, naming what is wrong', () => {
    const model = scored(10, 0.5, 1);
    expect(() => resampledGap([], model)).toThrow('no candidates');
    expect(() => resampledGap([scored(9, 0.5, 2)], model)).toThrow('candidate 0 was scored on 9 images, the model on 10');
    expect(() => resampledGap([model], new Uint8Array(0))).toThrow('on no images');
    expect(() => resampledGap([model], model, { margin: -0.1 })).toThrow('margin -0.1');
    expect(() => resampledGap([model], model, { resamples: 0 })).toThrow('resamples 0');
  });
});
