import { selectBackend } from '@featx/vision';
import { crossValidateLogistic } from './logistic-cv';
import { fitLogisticRegression, logisticProbabilities } from './logistic-lbfgs';
import { scoreProbabilities } from './probability-scores';
import { clusters, LabelledRows, randomLabelled } from './testing/synthetic';

const asRows = (data: LabelledRows, classes: number) => ({ features: data.features, labels: data.labels, rows: data.rows, dim: data.dim, classes });

/** Each row twice, the copy after the originals (as an image and its mirror), with the image id of its original. */
function withCopies(data: LabelledRows): { rows: LabelledRows; ids: Float64Array } {
  const features = new Float32Array(data.features.length * 2);
  features.set(data.features);
  features.set(data.features, data.features.length);
  const labels = new Int32Array(data.rows * 2);
  labels.set(data.labels);
  labels.set(data.labels, data.rows);
  const ids = Float64Array.from({ length: data.rows * 2 }, (_, r) => 1000 + (r % data.rows));
  return { rows: { ...data, features, labels, rows: data.rows * 2 }, ids };
}

describe('crossValidateLogistic', () => {
  beforeAll(() => selectBackend('cpu'));

  it('scores each strength on rows its fits never saw: the penalty that memorizes least wins where there is nothing to learn', () => {
    // Labels independent of 40 features over 60 rows: a weak penalty fits them, and fails on held-out rows.
    const data = randomLabelled(60, 40, 3, 5);
    const scores = crossValidateLogistic(asRows(data, 3), [1, 1e-4], null, { folds: 5, seed: 1 });
    expect(scores.map((s) => s.l2)).toEqual([1, 1e-4]);
    // The strong penalty stays near the uniform guess (log 3 ≈ 1.1); the weak one is confidently wrong.
    expect(scores[0].loss).toBeLessThan(1.2);
    expect(scores[1].loss).toBeGreaterThan(scores[0].loss);
    // On the rows it fit, the weak penalty looks far better: what cross-validation is for.
    const fitted = [1, 1e-4].map((l2) => fitLogisticRegression(asRows(data, 3), { l2 }));
    expect(fitted[1].accuracy).toBeGreaterThan(0.9);
    expect(fitted[1].accuracy).toBeGreaterThan(scores[1].accuracy + 0.3);
  });

  it('finds what there is to learn: separable clusters score near 1 held out', () => {
    const scores = crossValidateLogistic(asRows(clusters(60, 8, 3, 5), 3), [0.01], null, { folds: 3, seed: 1 });
    expect(scores[0].accuracy).toBeGreaterThan(0.95);
  });

  it('keeps an image and its mirror in one fold: an exact copy in the training folds would make held-out rows look memorized', () => {
    const data = randomLabelled(40, 30, 3, 9);
    const { rows, ids } = withCopies(data);
    const grouped = crossValidateLogistic(asRows(rows, 3), [1e-6], ids, { folds: 4, seed: 2 });
    const leaky = crossValidateLogistic(asRows(rows, 3), [1e-6], null, { folds: 4, seed: 2 });
    // Without groups three held-out rows in four have their copy in the training folds: random labels look learnt.
    expect(leaky[0].accuracy).toBeGreaterThan(0.7);
    expect(grouped[0].accuracy).toBeLessThan(0.6);
    // One vote per image: the grouped score counts 40 images, not 80 rows (accuracy in steps of 1/40).
    expect(Math.abs(grouped[0].accuracy * 40 - Math.round(grouped[0].accuracy * 40))).toBeLessThan(1e-9);
  });

  it('is reproducible for a seed, and the seed picks the folds', () => {
    const data = clusters(50, 12, 3, 4, 0, 2);
    const a = crossValidateLogistic(asRows(data, 3), [0.01, 0.001], null, { folds: 5, seed: 7 });
    const b = crossValidateLogistic(asRows(data, 3), [0.01, 0.001], null, { folds: 5, seed: 7 });
    expect(a).toEqual(b);
  });

  it('refuses too few images for the folds, too few folds, and group ids short of the rows', () => {
    const data = clusters(4, 3, 2, 1);
    expect(() => crossValidateLogistic(asRows(data, 2), [0.01], null, { folds: 5, seed: 1 })).toThrow(/5 folds needs at least 5 images, got 4/);
    expect(() => crossValidateLogistic(asRows(data, 2), [0.01], null, { folds: 1, seed: 1 })).toThrow(/folds must be an integer ≥ 2, got 1/);
    expect(() => crossValidateLogistic(asRows(data, 2), [0.01], new Float64Array(3), { folds: 2, seed: 1 })).toThrow(/groups has 3 entries, expected one a row \(4\)/);
  });
});

describe('logisticProbabilities', () => {
  beforeAll(() => selectBackend('cpu'));

  it('is the softmax of X · Wᵀ + b, the same from the addon or TF.js', () => {
    const data = asRows(clusters(6, 3, 2, 3), 2);
    const weights = { kernelT: Float32Array.from([1, -2, 0.5, -1, 0.25, 2]), bias: Float32Array.from([0.1, -0.3]) };
    const expected = new Float32Array(12);
    for (let r = 0; r < 6; r++) {
      const logits = [0, 1].map((c) => weights.bias[c] + [0, 1, 2].reduce((s, d) => s + weights.kernelT[c * 3 + d] * data.features[r * 3 + d], 0));
      const max = Math.max(...logits);
      const sum = logits.reduce((s, l) => s + Math.exp(l - max), 0);
      logits.forEach((l, c) => (expected[r * 2 + c] = Math.exp(l - max) / sum));
    }
    for (const products of ['auto', 'tfjs'] as const) {
      const got = logisticProbabilities(weights, data, products);
      Array.from(got).forEach((p, i) => expect(p).toBeCloseTo(expected[i], 5));
      expect(scoreProbabilities(got, data.labels, 2).predicted).toEqual(scoreProbabilities(expected, data.labels, 2).predicted);
    }
  });
});
