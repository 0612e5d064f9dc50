import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@featx/vision';
import { DenseLayer, backward, forwardForTraining } from './dense-network';
import { dropoutMask, seededRandom } from './seeded-random';
import { crossEntropyGradient, crossEntropyTerms } from './softmax-cross-entropy';
import { gaussian } from './testing/synthetic';

/**
 * The hand-written backward pass against TF.js autodiff (tf.grads) of the same loss written the
 * plain Keras way — kernels [inputs, units], matMul(x, W) — and against central differences.
 */
interface Case {
  name: string;
  sizes: number[]; // inputs, hidden…, classes
  rows: number;
  dropout: number;
  l2: number;
  weighted: boolean;
}

const CASES: Case[] = [
  { name: 'tutorial-shaped MLP (2 hidden layers, 2 classes)', sizes: [40, 16, 8, 2], rows: 12, dropout: 0, l2: 0, weighted: false },
  { name: 'MLP with dropout, L2 and class weights', sizes: [30, 12, 5], rows: 9, dropout: 0.3, l2: 0.01, weighted: true },
  { name: 'logistic regression with L2', sizes: [25, 4], rows: 10, dropout: 0, l2: 0.1, weighted: false },
];

function randomValues(size: number, random: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: size }, () => gaussian(random) * scale);
}

interface Problem {
  kernels: tf.Tensor2D[]; // Keras layout [inputs, units]
  biases: tf.Tensor1D[];
  x: tf.Tensor2D;
  y: tf.Tensor1D;
  masks: tf.Tensor2D[];
  weights?: tf.Tensor1D;
}

function problem(c: Case, seed: number): Problem {
  const random = seededRandom(seed);
  const kernels: tf.Tensor2D[] = [];
  const biases: tf.Tensor1D[] = [];
  for (let l = 0; l + 1 < c.sizes.length; l++) {
    kernels.push(tf.tensor2d(randomValues(c.sizes[l] * c.sizes[l + 1], random, 0.4), [c.sizes[l], c.sizes[l + 1]]));
    biases.push(tf.tensor1d(randomValues(c.sizes[l + 1], random, 0.1)));
  }
  const classes = c.sizes[c.sizes.length - 1];
  const x = tf.tensor2d(randomValues(c.rows * c.sizes[0], random), [c.rows, c.sizes[0]]);
  const y = tf.tensor1d(Int32Array.from({ length: c.rows }, () => Math.floor(random() * classes)), 'int32');
  const masks = c.dropout > 0 ? c.sizes.slice(1, -1).map((units) => tf.tensor2d(dropoutMask(c.rows * units, c.dropout, random), [c.rows, units])) : [];
  const weights = c.weighted ? tf.tensor1d(Float32Array.from({ length: classes }, (_, k) => 0.5 + k)).gather(y) : undefined;
  return { kernels, biases, x, y, masks, weights: weights as tf.Tensor1D | undefined };
}

/** The loss as Keras computes it: mean of class-weighted cross-entropy, plus λ·Σw². */
function referenceLoss(p: Problem, c: Case, kernels: tf.Tensor2D[], biases: tf.Tensor1D[]): tf.Scalar {
  let a: tf.Tensor2D = p.x;
  for (let l = 0; l < kernels.length - 1; l++) {
    a = tf.relu(tf.add<tf.Tensor2D>(tf.matMul(a, kernels[l]), biases[l]));
    if (p.masks[l]) a = tf.mul(a, p.masks[l]);
  }
  const logits = tf.add(tf.matMul(a, kernels[kernels.length - 1]), biases[biases.length - 1]);
  const nll = tf.neg(tf.sum(tf.mul(tf.oneHot(p.y, c.sizes[c.sizes.length - 1]), tf.logSoftmax(logits)), 1));
  const data = tf.div(tf.sum(p.weights ? tf.mul(nll, p.weights) : nll), c.rows);
  const penalty = tf.mul(tf.addN(kernels.map((k) => tf.sum(tf.square(k)))), c.l2);
  return tf.add(data, penalty) as tf.Scalar;
}

/** Our gradients, converted back to the Keras layout: [dK₁, …, db₁, …]. */
function handGradients(p: Problem, c: Case): tf.Tensor[] {
  const layers: DenseLayer[] = p.kernels.map((k, l) => ({ kernelT: tf.transpose(k), bias: p.biases[l] }));
  const trace = forwardForTraining(layers, p.x, p.masks.length ? p.masks : undefined);
  const terms = crossEntropyTerms(trace.logits, p.y, c.sizes[c.sizes.length - 1]);
  const gradients = backward(layers, trace, crossEntropyGradient(terms, 1 / c.rows, p.weights), 2 * c.l2);
  return [...gradients.map((g) => tf.transpose(g.kernelT)), ...gradients.map((g) => g.bias)];
}

function maxAbs(values: Float32Array | number[]): number {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return max;
}

describe('hand-written backward pass', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
  });

  it.each(CASES)('equals tf.grads of the Keras-layout loss: $name', (c) => {
    tf.tidy(() => {
      const p = problem(c, 3);
      const n = p.kernels.length;
      const reference = tf.grads((...params: tf.Tensor[]) =>
        referenceLoss(p, c, params.slice(0, n) as tf.Tensor2D[], params.slice(n) as tf.Tensor1D[]),
      )([...p.kernels, ...p.biases]);
      const ours = handGradients(p, c);
      expect(ours.map((g) => g.shape)).toEqual(reference.map((g) => g.shape));
      ours.forEach((g, i) => {
        const expected = reference[i].dataSync() as Float32Array;
        const actual = g.dataSync() as Float32Array;
        const scale = Math.max(maxAbs(expected), 1e-3);
        const error = maxAbs(actual.map((v, j) => v - expected[j]));
        expect(error / scale).toBeLessThan(1e-5);
      });
    });
  });

  it.each(CASES)('agrees with float64 central differences along random directions: $name', (c) => {
    tf.tidy(() => {
      const p = problem(c, 5);
      const params = [...p.kernels, ...p.biases].map((t) => Float64Array.from(t.dataSync()));
      const ours = handGradients(p, c).map((g) => g.dataSync());
      const random = seededRandom(99);
      for (let trial = 0; trial < 3; trial++) {
        const directions = params.map((values) => Float64Array.from(values, () => gaussian(random)));
        const epsilon = 1e-6;
        const lossAt = (step: number) => float64Loss(p, c, params.map((values, i) => values.map((v, j) => v + step * directions[i][j])));
        const numeric = (lossAt(epsilon) - lossAt(-epsilon)) / (2 * epsilon);
        let analytic = 0;
        ours.forEach((g, i) => g.forEach((v, j) => (analytic += v * directions[i][j])));
        expect(Math.abs(numeric - analytic)).toBeLessThan(1e-4 * Math.max(1, Math.abs(numeric)));
      }
    });
  });
});

/** The same loss in float64 JavaScript, parameters as [K₁ (inputs × units, row-major), …, b₁, …]. */
function float64Loss(p: Problem, c: Case, params: Float64Array[]): number {
  const n = c.sizes.length - 1;
  const x = p.x.dataSync();
  const y = p.y.dataSync();
  const masks = p.masks.map((m) => m.dataSync());
  const weights = p.weights?.dataSync();
  let total = 0;
  for (let r = 0; r < c.rows; r++) {
    let a = Array.from(x.subarray(r * c.sizes[0], (r + 1) * c.sizes[0]), Number);
    for (let l = 0; l < n; l++) {
      const [inputs, units] = [c.sizes[l], c.sizes[l + 1]];
      const z = Array.from({ length: units }, (_, u) => {
        let sum = params[n + l][u];
        for (let i = 0; i < inputs; i++) sum += a[i] * params[l][i * units + u];
        return sum;
      });
      a = l === n - 1 ? z : z.map((v, u) => Math.max(v, 0) * (masks[l] ? masks[l][r * units + u] : 1));
    }
    const max = Math.max(...a);
    const logSum = max + Math.log(a.reduce((sum, v) => sum + Math.exp(v - max), 0));
    total += (logSum - a[y[r]]) * (weights ? weights[r] : 1);
  }
  let penalty = 0;
  for (let l = 0; l < n; l++) for (const w of params[l]) penalty += w * w;
  return total / c.rows + c.l2 * penalty;
}
