import { selectBackend } from '@featx/vision';
import { FeatureBatch } from './batches';
import { createHead } from './head';
import { averageWithMirrors, meanProbabilities, mirrorRowsOf, probabilitiesPass, scoreProbabilities } from './probability-scores';
import { batchesOf, clusters } from './testing/synthetic';

describe('probability scores', () => {
  it('scores accuracy by argmax and loss as the mean −log p of the label, a zero probability costing −log 1e-12', () => {
    const probabilities = Float32Array.from([0.7, 0.3, 0.2, 0.8, 1, 0]);
    const score = scoreProbabilities(probabilities, Int32Array.from([0, 0, 1]), 2);
    expect(score.accuracy).toBeCloseTo(1 / 3, 10);
    expect(score.loss).toBeCloseTo((-Math.log(Math.fround(0.7)) - Math.log(Math.fround(0.2)) - Math.log(1e-12)) / 3, 6);
    expect(() => scoreProbabilities(probabilities, Int32Array.from([0, 1]), 2)).toThrow(/6 probabilities for 2 rows of 2 classes/);
  });

  it('averages each image with its mirror, paired by row or by mirrorOf', () => {
    const images = Float32Array.from([1, 0, 0, 1]);
    const mirrors = Float32Array.from([0, 1, 0.5, 0.5]);
    expect(Array.from(averageWithMirrors(images, mirrors, 2, null))).toEqual([0.5, 0.5, 0.25, 0.75]);
    expect(Array.from(averageWithMirrors(images, mirrors, 2, Int32Array.from([1, 0])))).toEqual([0.75, 0.25, 0, 1]);
    expect(() => averageWithMirrors(images, mirrors.subarray(0, 2), 2, null)).toThrow(/2 images but 1 mirrors/);
    expect(() => averageWithMirrors(images, mirrors, 2, Int32Array.from([0, 2]))).toThrow(/mirrorOf\[1\] = 2 is not a mirror row/);
  });

  it('pairs mirrors with images by image id, refusing an image without one', () => {
    expect(Array.from(mirrorRowsOf(Float64Array.from([7, 3, 9]), Float64Array.from([9, 7, 3])))).toEqual([1, 2, 0]);
    expect(() => mirrorRowsOf(Float64Array.from([7, 3]), Float64Array.from([7, 4]))).toThrow(/image 3 has no mirror/);
    expect(() => mirrorRowsOf(Float64Array.from([7, 3]), Float64Array.from([7]))).toThrow(/2 images but 1 mirrors/);
  });

  it('means members of one shape and refuses others', () => {
    expect(Array.from(meanProbabilities([Float32Array.from([1, 0]), Float32Array.from([0, 1]), Float32Array.from([0.5, 0.5])]))).toEqual([0.5, 0.5]);
    expect(() => meanProbabilities([])).toThrow(/at least one member/);
    expect(() => meanProbabilities([new Float32Array(2), new Float32Array(3)])).toThrow(/differ in size/);
  });

  describe('probabilitiesPass', () => {
    beforeAll(() => selectBackend('cpu'));

    it('gives each head its predictProba on its view of every batch, with the labels and, where batches carry them, the image ids', async () => {
      const data = clusters(40, 6, 3, 5);
      const heads = [1, 2].map((seed) => createHead({ kind: 'logistic', inputDim: 6, classes: 3 }, seed, { kind: 'sgd', learningRate: 0.01 }));
      const doubled = (batch: FeatureBatch) => ({ ...batch, features: batch.features.map((x) => 2 * x) });
      async function* withIds() {
        let at = 0;
        for await (const batch of batchesOf(data, 16)) {
          yield { ...batch, imageIds: Float64Array.from({ length: batch.rows }, (_, r) => 100 + at + r) };
          at += batch.rows;
        }
      }
      const pass = await probabilitiesPass(heads, withIds(), { views: { transforms: [(b) => b, doubled], viewOf: [0, 1] } });
      expect(pass.rows).toBe(40);
      expect(Array.from(pass.labels)).toEqual(Array.from(data.labels));
      expect(Array.from(pass.imageIds!)).toEqual(Array.from({ length: 40 }, (_, r) => 100 + r));
      expect(Array.from(pass.probabilities[0])).toEqual(Array.from(heads[0].predictProba(data.features)));
      const twice = data.features.map((x) => 2 * x);
      Array.from(heads[1].predictProba(twice)).forEach((p, i) => expect(pass.probabilities[1][i]).toBeCloseTo(p, 6));
      expect((await probabilitiesPass(heads, batchesOf(data, 16))).imageIds).toBeNull();
      heads.forEach((h) => h.dispose());
    });
  });
});
