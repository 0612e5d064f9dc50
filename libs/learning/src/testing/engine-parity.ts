import { loadCheckpoint, saveCheckpoint } from '../checkpoint';
import { HeadEngine, TrainableHead, createHead } from '../head';
import { HeadSpec } from '../head-spec';
import { OptimizerSpec } from '../optimizers';
import { FeatureBatch } from '../batches';
import { clusters, slice } from './synthetic';

/**
 * What the engine specs share: every engine must take the TF.js head's steps (the reference) within
 * float tolerance on fixed seeds, for each head and option.
 */
export const PARITY_DIM = 24;
export const parityData = clusters(96, PARITY_DIM, 3, 4);
export const parityBatches: FeatureBatch[] = Array.from({ length: 12 }, (_, i) => slice(parityData, i * 8, 8));
export const PARITY_CLASS_WEIGHTS = Float32Array.of(0.5, 1, 2.5);

/** [name, head, optimizer, with class weights] */
export const PARITY_CASES: Array<[string, HeadSpec, OptimizerSpec, boolean]> = [
  ['logistic, SGD with momentum and decay', { kind: 'logistic', inputDim: PARITY_DIM, classes: 3 }, { kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, false],
  ['logistic, plain SGD, L2, class weights', { kind: 'logistic', inputDim: PARITY_DIM, classes: 3, l2: 0.01 }, { kind: 'sgd', learningRate: 0.1 }, true],
  ['logistic, Adam, L2', { kind: 'logistic', inputDim: PARITY_DIM, classes: 3, l2: 0.01 }, { kind: 'adam', learningRate: 0.01 }, false],
  ['2-hidden-layer MLP, SGD with momentum and decay', { kind: 'mlp', inputDim: PARITY_DIM, classes: 3, hidden: [16, 8] }, { kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, false],
  ['2-hidden-layer MLP, dropout, L2, class weights, SGD with momentum', { kind: 'mlp', inputDim: PARITY_DIM, classes: 3, hidden: [16, 8], dropout: 0.3, l2: 0.005 }, { kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, true],
  ['2-hidden-layer MLP, dropout, L2, class weights, Adam with decay', { kind: 'mlp', inputDim: PARITY_DIM, classes: 3, hidden: [16, 8], dropout: 0.3, l2: 0.005 }, { kind: 'adam', learningRate: 0.01, decay: 0.01 }, true],
];

/** Every parameter and optimizer slot by name, copied out. */
export function snapshot(head: TrainableHead): Map<string, Float32Array> {
  return new Map([...head.parameters(), ...head.optimizer.state()].map((p) => [p.name, Float32Array.from(p.tensor.dataSync())]));
}

export function expectClose(actual: Map<string, Float32Array>, expected: Map<string, Float32Array>, tolerance: number): void {
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
export function expectNear(actual: number, expected: number, tolerance = 1e-5): void {
  if (!(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)))) throw new Error(`${actual} is not within ${tolerance} of ${expected}`);
}

/**
 * `engine` against TF.js on one parity case: the same initial weights, then after each batch the
 * same loss, correct count, weights and slots; the same step and learning rate, evaluation and
 * probabilities. Returns the engine's head (disposed by the caller) for engine-specific checks.
 */
export function expectSameStepsAsTfjs(engine: HeadEngine, spec: HeadSpec, optimizer: OptimizerSpec, weighted: boolean): TrainableHead {
  const reference = createHead(spec, 7, optimizer);
  const head = createHead(spec, 7, optimizer, undefined, { engine });
  expectClose(snapshot(head), snapshot(reference), 0);
  const options = weighted ? { classWeights: PARITY_CLASS_WEIGHTS } : {};
  for (const batch of parityBatches) {
    const expected = reference.trainBatch(batch.features, batch.labels, options);
    const actual = head.trainBatch(batch.features, batch.labels, options);
    expect(actual.correct).toBe(expected.correct);
    expectNear(actual.loss, expected.loss);
    // Adam's m/√v turns float noise in a near-zero gradient into an update of up to α: a looser bound.
    expectClose(snapshot(head), snapshot(reference), optimizer.kind === 'adam' ? 1e-4 : 1e-5);
  }
  expect(head.step).toBe(reference.step);
  expect(head.learningRate).toBe(reference.learningRate);

  const evaluated = [head, reference].map((h) => h.evaluateBatch(parityData.features, parityData.labels));
  expect(evaluated[0].predicted).toEqual(evaluated[1].predicted);
  expect(evaluated[0].correct).toBe(evaluated[1].correct);
  expectNear(evaluated[0].lossSum, evaluated[1].lossSum);
  const [p, q] = [head, reference].map((h) => h.predictProba(parityBatches[0].features));
  p.forEach((value, i) => expectNear(value, q[i]));
  reference.dispose();
  return head;
}

/**
 * A head of `engine` checkpointed after 5 steps into `dir`: reloaded on the same engine it takes
 * exactly the uninterrupted run's steps, and TF.js reads the same checkpoint and follows within
 * float tolerance. Returns the reloaded head (disposed by the caller) for engine-specific checks.
 */
export async function expectCheckpointContinues(engine: HeadEngine, dir: string): Promise<TrainableHead> {
  const spec: HeadSpec = { kind: 'mlp', inputDim: PARITY_DIM, classes: 3, hidden: [12, 6], dropout: 0.3 };
  const optimizer: OptimizerSpec = { kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 };
  const original = createHead(spec, 5, optimizer, undefined, { engine });
  parityBatches.slice(0, 5).forEach((b) => original.trainBatch(b.features, b.labels));
  await saveCheckpoint(original, dir);

  const restored = await loadCheckpoint(dir, { engine });
  const onTfjs = await loadCheckpoint(dir);
  expect(restored.step).toBe(5);
  expect(snapshot(restored)).toEqual(snapshot(original));
  expect(snapshot(onTfjs)).toEqual(snapshot(original));
  for (const b of parityBatches.slice(5)) {
    const expected = original.trainBatch(b.features, b.labels);
    expect(restored.trainBatch(b.features, b.labels)).toEqual(expected);
    expectNear(onTfjs.trainBatch(b.features, b.labels).loss, expected.loss);
  }
  expect(snapshot(restored)).toEqual(snapshot(original));
  expectClose(snapshot(onTfjs), snapshot(original), 1e-5);
  [original, onTfjs].forEach((head) => head.dispose());
  return restored;
}
