import { RunningStats, classWeightsFrom, standardizeInPlace } from './stats';
import { seededRandom } from './seeded-random';
import { gaussian } from './testing/synthetic';

/** Mean and population std per dimension by the two-pass textbook method, in float64. */
function twoPass(features: Float32Array, dim: number): { mean: number[]; std: number[] } {
  const rows = features.length / dim;
  const mean = new Array<number>(dim).fill(0);
  const m2 = new Array<number>(dim).fill(0);
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) mean[d] += features[r * dim + d] / rows;
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) m2[d] += (features[r * dim + d] - mean[d]) ** 2;
  return { mean, std: m2.map((v) => Math.sqrt(v / rows)) };
}

describe('RunningStats', () => {
  it('matches a two-pass computation over batches of uneven sizes, even far from zero', () => {
    const dim = 7;
    const rows = 1000;
    const random = seededRandom(3);
    // Dimension d: offset 10^d (up to a million) plus noise of scale d + 1 — where Σx² − n·mean² would cancel.
    const features = Float32Array.from({ length: rows * dim }, (_, i) => 10 ** (i % dim) + gaussian(random) * ((i % dim) + 1));
    const stats = new RunningStats(dim);
    for (let start = 0, size = 1; start < rows; start += size, size = (size * 7) % 97 || 1) {
      const count = Math.min(size, rows - start);
      stats.add(features.subarray(start * dim, (start + count) * dim), count);
    }
    expect(stats.count).toBe(rows);
    const expected = twoPass(features, dim);
    const { mean, std } = stats.result();
    for (let d = 0; d < dim; d++) {
      expect(Math.abs(mean[d] - expected.mean[d]) / expected.mean[d]).toBeLessThan(1e-6);
      expect(Math.abs(std[d] - expected.std[d]) / expected.std[d]).toBeLessThan(1e-5);
    }
  });

  it('centres but does not scale a dimension that does not vary (std below the floor becomes 1)', () => {
    const stats = new RunningStats(2);
    stats.add(Float32Array.of(0, 1, 0, 3, 0, 5));
    const result = stats.result();
    expect(Array.from(result.mean)).toEqual([0, 3]);
    expect(result.std[0]).toBe(1);
    expect(result.std[1]).toBeCloseTo(Math.sqrt(8 / 3), 6);
    const later = Float32Array.of(0.5, 3);
    standardizeInPlace(later, result);
    expect(Array.from(later)).toEqual([0.5, 0]);
    expect(() => new RunningStats(2).result()).toThrow(/no rows/);
  });

  it('standardizes rows in place to zero mean and unit variance', () => {
    const random = seededRandom(4);
    const features = Float32Array.from({ length: 300 * 3 }, () => 5 + 2 * gaussian(random));
    const stats = new RunningStats(3);
    stats.add(features, 300);
    standardizeInPlace(features, stats.result());
    const after = twoPass(features, 3);
    after.mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-5));
    after.std.forEach((s) => expect(s).toBeCloseTo(1, 5));
    expect(() => standardizeInPlace(new Float32Array(4), stats.result())).toThrow(/whole rows/);
  });
});

describe('classWeightsFrom', () => {
  it('gives total / (classes · count), 0 for an empty class, averaging 1 over the rows', () => {
    const counts = [795, 241, 123, 0];
    const weights = classWeightsFrom(counts);
    const total = 795 + 241 + 123;
    expect(Array.from(weights)).toEqual(counts.map((c) => (c ? Math.fround(total / (4 * c)) : 0)));
    expect(weights[3]).toBe(0);
    const balanced = classWeightsFrom([10, 10]);
    expect(Array.from(balanced)).toEqual([1, 1]);
  });
});
