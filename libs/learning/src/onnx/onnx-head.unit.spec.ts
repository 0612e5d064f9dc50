import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '@featx/vision';
import { loadCheckpoint, saveCheckpoint } from '../checkpoint';
import { TrainableHead, createHead } from '../head';
import { HeadSpec, resolveHeadSpec } from '../head-spec';
import { OptimizerSpec } from '../optimizers';
import { clusters, slice } from '../testing/synthetic';
import { OnnxHead } from './onnx-head';

// The ONNX Runtime engine against the TF.js one (the reference), step by step on fixed seeds.
const DIM = 24;
const data = clusters(96, DIM, 3, 4);
const batches = Array.from({ length: 12 }, (_, i) => slice(data, i * 8, 8));
const CLASS_WEIGHTS = Float32Array.of(0.5, 1, 2.5);

function snapshot(head: TrainableHead): Map<string, Float32Array> {
  return new Map([...head.parameters(), ...head.optimizer.state()].map((p) => [p.name, Float32Array.from(p.tensor.dataSync())]));
}

function expectClose(actual: Map<string, Float32Array>, expected: Map<string, Float32Array>, tolerance: number): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, values] of expected) {
    const got = actual.get(name)!;
    expect(got.length).toBe(values.length);
    let worst = 0;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(got[i] - values[i]) / Math.max(1, Math.abs(values[i])));
    if (worst > tolerance) throw new Error(`${name} differs by ${worst} (tolerance ${tolerance})`);
  }
}

/** |actual − expected| within `tolerance` relative to max(1, |expected|): float32 noise, not a different step. */
function expectNear(actual: number, expected: number, tolerance = 1e-5): void {
  if (!(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)))) throw new Error(`${actual} is not within ${tolerance} of ${expected}`);
}

describe('ONNX Runtime head (engine onnx) against the TF.js head', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
  });

  it.each<[string, HeadSpec, OptimizerSpec, boolean]>([
    ['logistic, SGD with momentum and decay', { kind: 'logistic', inputDim: DIM, classes: 3 }, { kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, false],
    ['logistic, plain SGD, L2, class weights', { kind: 'logistic', inputDim: DIM, classes: 3, l2: 0.01 }, { kind: 'sgd', learningRate: 0.1 }, true],
    ['logistic, Adam, L2', { kind: 'logistic', inputDim: DIM, classes: 3, l2: 0.01 }, { kind: 'adam', learningRate: 0.01 }, false],
    ['2-hidden-layer MLP, SGD with momentum and decay', { kind: 'mlp', inputDim: DIM, classes: 3, hidden: [16, 8] }, { kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, false],
    ['2-hidden-layer MLP, dropout, L2, class weights, SGD with momentum', { kind: 'mlp', inputDim: DIM, classes: 3, hidden: [16, 8], dropout: 0.3, l2: 0.005 }, { kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, true],
    ['2-hidden-layer MLP, dropout, L2, class weights, Adam with decay', { kind: 'mlp', inputDim: DIM, classes: 3, hidden: [16, 8], dropout: 0.3, l2: 0.005 }, { kind: 'adam', learningRate: 0.01, decay: 0.01 }, true],
  ])('takes the same steps: %s', (_, spec, optimizer, weighted) => {
    const reference = createHead(spec, 7, optimizer);
    const onnx = createHead(spec, 7, optimizer, undefined, { engine: 'onnx' });
    expect(onnx).toBeInstanceOf(OnnxHead);
    expectClose(snapshot(onnx), snapshot(reference), 0);
    const options = weighted ? { classWeights: CLASS_WEIGHTS } : {};
    for (const batch of batches) {
      const expected = reference.trainBatch(batch.features, batch.labels, options);
      const actual = onnx.trainBatch(batch.features, batch.labels, options);
      expect(actual.correct).toBe(expected.correct);
      expectNear(actual.loss, expected.loss);
      // Adam's m/√v turns float noise in a near-zero gradient into an update of up to α: a looser bound.
      expectClose(snapshot(onnx), snapshot(reference), optimizer.kind === 'adam' ? 1e-4 : 1e-5);
    }
    expect(onnx.step).toBe(reference.step);
    expect(onnx.learningRate).toBe(reference.learningRate);

    const evaluated = [onnx, reference].map((head) => head.evaluateBatch(data.features, data.labels));
    expect(evaluated[0].predicted).toEqual(evaluated[1].predicted);
    expect(evaluated[0].correct).toBe(evaluated[1].correct);
    expectNear(evaluated[0].lossSum, evaluated[1].lossSum);
    const [p, q] = [onnx, reference].map((head) => head.predictProba(batches[0].features));
    p.forEach((value, i) => expectNear(value, q[i]));
    reference.dispose();
    onnx.dispose();
  });

  it('splits a big kernel into row parts without changing a step (the parts are ≤ 16 MiB at full size)', () => {
    const spec = resolveHeadSpec({ kind: 'mlp', inputDim: DIM, classes: 3, hidden: [10, 4], dropout: 0.2, l2: 0.01 });
    for (const optimizer of [{ kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, { kind: 'adam', learningRate: 0.01 }] as OptimizerSpec[]) {
      const whole = createHead(spec, 3, optimizer, undefined, { engine: 'onnx' });
      const inParts = new OnnxHead(spec, 3, optimizer, undefined, 3 * DIM); // first kernel in 4 parts of ≤ 3 rows
      for (const batch of batches.slice(0, 6)) {
        const [a, b] = [whole, inParts].map((head) => head.trainBatch(batch.features, batch.labels, { classWeights: CLASS_WEIGHTS }));
        expectNear(b.loss, a.loss, 1e-6);
      }
      expectClose(snapshot(inParts), snapshot(whole), 1e-6);
      whole.dispose();
      inParts.dispose();
    }
  });

  describe('checkpoints', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-onnx-checkpoint-'));
    });
    afterEach(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('save → load → continue gives exactly the steps of the uninterrupted run, and either engine reads the checkpoint', async () => {
      const spec: HeadSpec = { kind: 'mlp', inputDim: DIM, classes: 3, hidden: [12, 6], dropout: 0.3 };
      const optimizer: OptimizerSpec = { kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 };
      const original = createHead(spec, 5, optimizer, undefined, { engine: 'onnx' });
      batches.slice(0, 5).forEach((b) => original.trainBatch(b.features, b.labels));
      await saveCheckpoint(original, dir);

      const restored = await loadCheckpoint(dir, { engine: 'onnx' });
      const onTfjs = await loadCheckpoint(dir);
      expect(restored).toBeInstanceOf(OnnxHead);
      expect(restored.step).toBe(5);
      expect(snapshot(restored)).toEqual(snapshot(original));
      expect(snapshot(onTfjs)).toEqual(snapshot(original));
      for (const b of batches.slice(5)) {
        const expected = original.trainBatch(b.features, b.labels);
        expect(restored.trainBatch(b.features, b.labels)).toEqual(expected);
        expectNear(onTfjs.trainBatch(b.features, b.labels).loss, expected.loss);
      }
      expect(snapshot(restored)).toEqual(snapshot(original));
      expectClose(snapshot(onTfjs), snapshot(original), 1e-5);
      [original, restored, onTfjs].forEach((head) => head.dispose());
    });

    it('names a checkpoint tensor of the wrong size', () => {
      const spec = resolveHeadSpec({ kind: 'logistic', inputDim: 4, classes: 2 });
      const values = new Map([
        ['dense_1/kernelT', new Float32Array(7)],
        ['dense_1/bias', new Float32Array(2)],
      ]);
      expect(() => new OnnxHead(spec, 1, { kind: 'sgd', learningRate: 0.1 }, { step: 0, values })).toThrow(/'dense_1\/kernelT' has 7 values, expected 8/);
    });
  });

  it('rejects an unknown engine by name', () => {
    expect(() => createHead({ kind: 'logistic', inputDim: 4, classes: 2 }, 1, undefined, undefined, { engine: 'cuda' as never })).toThrow(/engine must be one of auto, tfjs, onnx, onednn, got 'cuda'/);
  });
});
