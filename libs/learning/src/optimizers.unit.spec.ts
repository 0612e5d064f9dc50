import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@featx/vision';
import { createHead } from './head';
import { TUTORIAL_SGD, createOptimizer, decayedLearningRate, optimizerSpecFromConfig, resolveOptimizerSpec } from './optimizers';
import { clusters } from './testing/synthetic';

describe('optimizers', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
  });

  it("uses Keras' legacy time-based decay lr / (1 + decay · step), step counting earlier updates", () => {
    expect(decayedLearningRate(1e-3, 1e-3 / 25, 0)).toBe(1e-3);
    expect(decayedLearningRate(0.1, 0.5, 2)).toBeCloseTo(0.05, 15);
    const sgd = createOptimizer(TUTORIAL_SGD, []);
    // The tutorial after 25 epochs of 93 batches: 1e-3 / (1 + 4e-5 · 2325).
    expect(sgd.learningRateAt(2325)).toBeCloseTo(1e-3 / (1 + (1e-3 / 25) * 2325), 15);
    expect(sgd.gradientScale(10)).toBe(-sgd.learningRateAt(10));
    sgd.dispose();
  });

  it('takes its defaults from a run configuration like the tutorial (decay = lr / epochs)', () => {
    expect(optimizerSpecFromConfig({ optimizer: 'sgd', learningRate: 1e-3, momentum: 0.9, epochs: 25 })).toEqual({ ...TUTORIAL_SGD });
    expect(optimizerSpecFromConfig({ optimizer: 'adam', learningRate: 1e-3, epochs: 10, decay: 0 })).toEqual({
      kind: 'adam', learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, decay: 0,
    });
    expect(() => resolveOptimizerSpec({ kind: 'sgd', learningRate: 0 })).toThrow(/learningRate/);
    expect(() => resolveOptimizerSpec({ kind: 'sgd', learningRate: 1, momentum: 1 })).toThrow(/momentum/);
  });

  it('SGD with momentum and decay follows v = m·v − lr_t·g, w += v step by step (head against tf.grads)', () => {
    const spec = { kind: 'sgd' as const, learningRate: 0.05, momentum: 0.9, decay: 0.3 };
    const head = createHead({ kind: 'logistic', inputDim: 6, classes: 3 }, 4, spec);
    const data = clusters(12, 6, 3, 1);
    const names = head.parameters().map((p) => p.name);
    const velocity = names.map((_, i) => new Float64Array(head.parameters()[i].tensor.size));
    for (let step = 0; step < 4; step++) {
      const before = head.parameters().map((p) => Float64Array.from(p.tensor.dataSync()));
      const gradientTensors = tf.tidy(() => {
        const [kernelT, bias] = head.parameters().map((p) => p.tensor);
        const x = tf.tensor2d(data.features, [12, 6]);
        const y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), 3);
        const loss = (k: tf.Tensor, b: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(x, k, false, true), b)) as tf.Scalar;
        return tf.grads(loss)([kernelT, bias]);
      });
      const gradients = gradientTensors.map((g) => Float64Array.from(g.dataSync()));
      tf.dispose(gradientTensors);
      const lr = spec.learningRate / (1 + spec.decay * step);
      expect(head.learningRate).toBeCloseTo(lr, 12);
      head.trainBatch(data.features, data.labels);
      head.parameters().forEach((p, i) => {
        const after = p.tensor.dataSync();
        for (let j = 0; j < after.length; j++) {
          velocity[i][j] = spec.momentum * velocity[i][j] - lr * gradients[i][j];
          expect(after[j]).toBeCloseTo(before[i][j] + velocity[i][j], 5);
        }
      });
    }
    expect(head.step).toBe(4);
    head.dispose();
  });

  it('Adam matches a hand-computed update (Keras: α = lr·√(1−β2ᵗ)/(1−β1ᵗ), w −= α·m/(√v + ε))', () => {
    const adam = createOptimizer({ kind: 'adam', learningRate: 0.01 }, [{ name: 'w', shape: [3] }]);
    const w = tf.variable(tf.tensor1d([1, -2, 3]));
    const steps = [
      [0.1, -0.2, 0.3],
      [-0.05, 0.4, 0.3],
    ];
    const expected = [1, -2, 3];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    const tensors = tf.memory().numTensors;
    steps.forEach((g, step) => {
      adam.apply([w], [tf.tensor1d(g)], step);
      expect(tf.memory().numTensors).toBe(tensors); // the gradient and every temporary are disposed
      const t = step + 1;
      const alpha = (0.01 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      for (let j = 0; j < 3; j++) {
        m[j] = 0.9 * m[j] + 0.1 * g[j];
        v[j] = 0.999 * v[j] + 0.001 * g[j] * g[j];
        expected[j] -= (alpha * m[j]) / (Math.sqrt(v[j]) + 1e-7);
      }
      const actual = w.dataSync();
      expected.forEach((value, j) => expect(actual[j]).toBeCloseTo(value, 6));
    });
    expect(adam.state().map((s) => s.name)).toEqual(['m/w', 'v/w']);
    adam.dispose();
    w.dispose();
  });
});
