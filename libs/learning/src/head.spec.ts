import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@featx/vision';
import { TrainableHead, createHead } from './head';
import { HeadSpec } from './head-spec';
import { OptimizerSpec } from './optimizers';
import { classWeightsFrom } from './stats';
import { LabelledRows, clusters, randomLabelled, slice } from './testing/synthetic';

function fit(head: TrainableHead, data: LabelledRows, epochs: number, batch = 32): void {
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let start = 0; start < data.rows; start += batch) {
      const rows = slice(data, start, Math.min(batch, data.rows - start));
      head.trainBatch(rows.features, rows.labels);
    }
  }
}

function accuracy(head: TrainableHead, data: LabelledRows): number {
  return head.evaluateBatch(data.features, data.labels).correct / data.rows;
}

const FAST_SGD: OptimizerSpec = { kind: 'sgd', learningRate: 0.01, momentum: 0.9 };

describe('createHead', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
  });

  it.each<[string, HeadSpec, OptimizerSpec]>([
    ['MLP, SGD with momentum', { kind: 'mlp', inputDim: 64, classes: 4 }, FAST_SGD],
    ['MLP, Adam', { kind: 'mlp', inputDim: 64, classes: 4, dropout: 0.2 }, { kind: 'adam', learningRate: 1e-2 }],
    ['logistic regression, SGD', { kind: 'logistic', inputDim: 64, classes: 4, l2: 1e-3 }, FAST_SGD],
  ])('separates linearly separable clusters almost perfectly: %s', (_, spec, optimizer) => {
    const head = createHead(spec, 1, optimizer);
    const train = clusters(512, 64, 4, 21, 0);
    const heldOut = clusters(256, 64, 4, 21, 1);
    fit(head, train, 5);
    expect(accuracy(head, train)).toBeGreaterThan(0.98);
    expect(accuracy(head, heldOut)).toBeGreaterThan(0.97);
    head.dispose();
  });

  it('stays near chance on held-out data when the labels are random (it can only memorise)', () => {
    const head = createHead({ kind: 'mlp', inputDim: 64, classes: 2, hidden: [64] }, 1, FAST_SGD);
    const train = randomLabelled(512, 64, 2, 1);
    const heldOut = randomLabelled(1000, 64, 2, 2);
    fit(head, train, 30);
    expect(accuracy(head, train)).toBeGreaterThan(0.75); // memorised
    expect(Math.abs(accuracy(head, heldOut) - 0.5)).toBeLessThan(0.06);
    head.dispose();
  });

  it('handles two classes as a softmax over two outputs (the tutorial 100352-256-16-2 shape)', () => {
    const head = createHead({ kind: 'mlp', inputDim: 100352, classes: 2 }, 1);
    expect(head.spec.hidden).toEqual([256, 16]);
    expect(head.parameters().map((p) => [p.name, p.tensor.shape])).toEqual([
      ['dense_1/kernelT', [256, 100352]],
      ['dense_1/bias', [256]],
      ['dense_2/kernelT', [16, 256]],
      ['dense_2/bias', [16]],
      ['dense_3/kernelT', [2, 16]],
      ['dense_3/bias', [2]],
    ]);
    const data = clusters(8, 100352, 2, 3);
    const first = head.trainBatch(data.features, data.labels);
    expect(first.loss).toBeGreaterThan(0);
    expect(head.step).toBe(1);
    const probabilities = head.predictProba(data.features);
    expect(probabilities.length).toBe(16);
    for (let r = 0; r < 8; r++) expect(probabilities[2 * r] + probabilities[2 * r + 1]).toBeCloseTo(1, 5);
    head.dispose();

    const small = createHead({ kind: 'logistic', inputDim: 10, classes: 2 }, 1, FAST_SGD);
    const twoClass = clusters(200, 10, 2, 4);
    fit(small, twoClass, 3);
    expect(accuracy(small, twoClass)).toBeGreaterThan(0.98);
    small.dispose();
  });

  it('reports the weighted mean loss Σ wᵢ·nllᵢ / rows with class weights, and scales the gradient by them', () => {
    const spec: HeadSpec = { kind: 'mlp', inputDim: 8, classes: 3, hidden: [5] };
    const sgd: OptimizerSpec = { kind: 'sgd', learningRate: 0.1 };
    const data = clusters(9, 8, 3, 5);
    const weights = Float32Array.of(0.5, 2, 0);

    const probe = createHead(spec, 7, sgd);
    const p = probe.predictProba(data.features);
    let plain = 0;
    let weighted = 0;
    for (let r = 0; r < 9; r++) {
      const nll = -Math.log(p[r * 3 + data.labels[r]]);
      plain += nll / 9;
      weighted += (weights[data.labels[r]] * nll) / 9;
    }
    expect(probe.trainBatch(data.features, data.labels).loss).toBeCloseTo(plain, 5);
    const withWeights = createHead(spec, 7, sgd);
    expect(withWeights.trainBatch(data.features, data.labels, { classWeights: weights }).loss).toBeCloseTo(weighted, 5);

    // Uniform weights 2 with learning rate 0.1 take the same step as no weights with 0.2.
    const doubled = createHead(spec, 7, sgd);
    const fasterLr = createHead(spec, 7, { kind: 'sgd', learningRate: 0.2 });
    doubled.trainBatch(data.features, data.labels, { classWeights: Float32Array.of(2, 2, 2) });
    fasterLr.trainBatch(data.features, data.labels);
    doubled.parameters().forEach((param, i) => {
      const other = fasterLr.parameters()[i].tensor.dataSync();
      param.tensor.dataSync().forEach((v, j) => expect(v).toBeCloseTo(other[j], 6));
    });

    // Rows of a zero-weight class teach nothing.
    const ignored = createHead(spec, 7, sgd);
    const before = ignored.parameters().map((param) => Float32Array.from(param.tensor.dataSync()));
    const classTwo = Int32Array.from({ length: 9 }, () => 2);
    expect(ignored.trainBatch(data.features, classTwo, { classWeights: weights }).loss).toBe(0);
    ignored.parameters().forEach((param, i) => expect(Array.from(param.tensor.dataSync())).toEqual(Array.from(before[i])));

    expect(Array.from(classWeightsFrom([30, 10, 0]))).toEqual([40 / 90, 40 / 30, 0].map((v) => Math.fround(v)));
    [probe, withWeights, doubled, fasterLr, ignored].forEach((head) => head.dispose());
  });

  it('adds the L2 penalty λ·Σw² to the training loss but not to evaluation', () => {
    const data = clusters(6, 5, 2, 9);
    const plain = createHead({ kind: 'logistic', inputDim: 5, classes: 2 }, 3);
    const penalised = createHead({ kind: 'logistic', inputDim: 5, classes: 2, l2: 0.5 }, 3);
    const squares = tf.tidy(() => tf.sum(tf.square(penalised.parameters()[0].tensor)).dataSync()[0]);
    const evaluation = penalised.evaluateBatch(data.features, data.labels);
    expect(evaluation.lossSum).toBeCloseTo(plain.evaluateBatch(data.features, data.labels).lossSum, 6);
    expect(penalised.trainBatch(data.features, data.labels).loss).toBeCloseTo(evaluation.lossSum / 6 + 0.5 * squares, 5);
    plain.dispose();
    penalised.dispose();
  });

  it('is deterministic for a seed (weights and dropout masks) and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const data = clusters(16, 12, 3, 2);
    const spec: HeadSpec = { kind: 'mlp', inputDim: 12, classes: 3, hidden: [10], dropout: 0.5 };
    const a = createHead(spec, 11, { kind: 'adam', learningRate: 0.01 });
    const b = createHead(spec, 11, { kind: 'adam', learningRate: 0.01 });
    const c = createHead(spec, 12, { kind: 'adam', learningRate: 0.01 });
    for (let i = 0; i < 3; i++) {
      const la = a.trainBatch(data.features, data.labels).loss;
      expect(b.trainBatch(data.features, data.labels).loss).toBe(la);
      expect(c.trainBatch(data.features, data.labels).loss).not.toBe(la);
    }
    const evaluation = a.evaluateBatch(data.features, data.labels);
    expect(evaluation.predicted).toBeInstanceOf(Int32Array);
    expect(evaluation.predicted.length).toBe(16);
    [a, b, c].forEach((head) => head.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reads features from views into a larger buffer (the stream hands out subarrays)', () => {
    const head = createHead({ kind: 'mlp', inputDim: 6, classes: 2, hidden: [4] }, 1);
    const data = clusters(10, 6, 2, 1);
    const view = slice(data, 3, 4);
    expect(view.features.byteOffset).toBeGreaterThan(0);
    expect(Array.from(head.predictProba(view.features))).toEqual(Array.from(head.predictProba(Float32Array.from(view.features))));
    head.dispose();
  });

  it('rejects batches that do not fit the head', () => {
    const head = createHead({ kind: 'logistic', inputDim: 4, classes: 3 }, 1);
    expect(() => head.trainBatch(new Float32Array(7), Int32Array.of(0, 1))).toThrow(/expected 2 rows × 4/);
    expect(() => head.trainBatch(new Float32Array(8), Int32Array.of(0, 3))).toThrow(/label 3 at row 1/);
    expect(() => head.trainBatch(new Float32Array(4), Int32Array.of(0), { classWeights: Float32Array.of(1) })).toThrow(/classWeights/);
    expect(() => head.predictProba(new Float32Array(6))).toThrow(RangeError);
    expect(() => createHead({ kind: 'mlp', inputDim: 4, classes: 1 })).toThrow(/classes/);
    expect(() => createHead({ kind: 'mlp', inputDim: 4, classes: 2, dropout: 1 })).toThrow(/dropout/);
    head.dispose();
  });
});
