import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@featx/vision';
import { FeatureBatch } from './batches';
import { CandidateSources, evaluateCandidatesPass, trainCandidates } from './candidates';
import { evaluate } from './epoch';
import { TrainableHead, createHead } from './head';
import { HeadSpec } from './head-spec';
import { L2_GRID, selectL2 } from './l2-selection';
import { OptimizerSpec } from './optimizers';
import { classWeightsFrom } from './stats';
import { LabelledRows, batchesOf, clusters, randomLabelled, slice } from './testing/synthetic';
import { UploadedBatch } from './uploaded-batch';

interface Candidate {
  spec: HeadSpec;
  seed: number;
  optimizer: OptimizerSpec;
}

/** The training rows in a different batch order every epoch, as the trainer's shuffled stream. */
async function* epochOrder(data: LabelledRows, batchRows: number, epoch: number): AsyncGenerator<FeatureBatch> {
  const batches = Math.ceil(data.rows / batchRows);
  for (let b = 0; b < batches; b++) {
    const start = ((b + epoch * 3) % batches) * batchRows;
    yield slice(data, start, Math.min(batchRows, data.rows - start));
  }
}

function sourcesOf(training: LabelledRows, validation: LabelledRows | undefined, batchRows = 16): CandidateSources {
  return {
    training: (epoch) => epochOrder(training, batchRows, epoch),
    validation: validation && (() => batchesOf(validation, batchRows)),
  };
}

function build(candidates: Candidate[]): TrainableHead[] {
  return candidates.map((c) => createHead(c.spec, c.seed, c.optimizer));
}

function weightsOf(head: TrainableHead): Float32Array[] {
  return head.parameters().map((p) => Float32Array.from(p.tensor.dataSync()));
}

/** Largest |a − b| relative to the largest |b| of each parameter. */
function relativeDifference(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  b.forEach((expected, p) => {
    let scale = 1e-6;
    let error = 0;
    expected.forEach((value, i) => {
      scale = Math.max(scale, Math.abs(value));
      error = Math.max(error, Math.abs(a[p][i] - value));
    });
    worst = Math.max(worst, error / scale);
  });
  return worst;
}

/** One candidate trained alone, the way a run trains its head: one step per batch, validation and early stopping after each epoch. */
async function trainAlone(head: TrainableHead, sources: CandidateSources, epochs: number, patience?: number, classWeights?: Float32Array) {
  let best: number | null = null;
  let bestEpoch: number | null = null;
  let sinceBest = 0;
  let valLoss = Number.NaN;
  let epochsTrained = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for await (const batch of sources.training(epoch)) head.trainBatch(batch.features, batch.labels, { classWeights });
    epochsTrained = epoch + 1;
    if (patience === undefined && epoch < epochs - 1) continue;
    valLoss = (await evaluate(head, sources.validation!())).loss;
    const improved = best === null || valLoss < best;
    sinceBest = improved ? 0 : sinceBest + 1;
    if (improved) [best, bestEpoch] = [valLoss, epoch + 1];
    if (patience !== undefined && sinceBest >= patience) break;
  }
  return { epochsTrained, valLoss, bestEpoch, stopped: patience !== undefined && sinceBest >= patience };
}

describe('trainCandidates', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
  });

  const sgd: OptimizerSpec = { kind: 'sgd', learningRate: 0.01, momentum: 0.9, decay: 0.01 };

  it.each<[string, Candidate[], boolean]>([
    ['logistic regression over the L2 grid, SGD with momentum and decay, class weights', L2_GRID.map((l2) => ({ spec: { kind: 'logistic', inputDim: 24, classes: 3, l2 }, seed: 5, optimizer: sgd })), true],
    [
      'MLPs of different depths, seeds, dropout, L2 and optimizers',
      [
        { spec: { kind: 'mlp', inputDim: 24, classes: 3, hidden: [16, 8], dropout: 0.3, l2: 1e-3 }, seed: 1, optimizer: { kind: 'adam', learningRate: 0.01, decay: 0.001 } },
        { spec: { kind: 'mlp', inputDim: 24, classes: 3, hidden: [12], dropout: 0, l2: 0 }, seed: 2, optimizer: sgd },
        { spec: { kind: 'mlp', inputDim: 24, classes: 3, hidden: [16, 8], dropout: 0.3, l2: 1e-2 }, seed: 3, optimizer: { kind: 'adam', learningRate: 0.01 } },
      ],
      false,
    ],
  ])('gives every candidate the weights it gets trained alone on the same batches: %s', async (_, candidates, weighted) => {
    const training = clusters(200, 24, 3, 8, 0, 1);
    const validation = clusters(60, 24, 3, 8, 1, 1);
    const classWeights = weighted ? classWeightsFrom([50, 70, 80]) : undefined;
    const sources = sourcesOf(training, validation);
    const tensorsBefore = tf.memory().numTensors;

    const together = build(candidates);
    const progress = await trainCandidates(together, sources, { epochs: 4, validate: 'last-epoch', classWeights });
    const alone = build(candidates);
    for (const [i, head] of alone.entries()) {
      const reference = await trainAlone(head, sources, 4, undefined, classWeights);
      expect(relativeDifference(weightsOf(together[i]), weightsOf(head))).toBeLessThan(1e-5);
      expect(together[i].step).toBe(head.step);
      expect(progress[i]).toMatchObject({ epochsTrained: 4, bestEpoch: 4, stopped: false });
      expect(progress[i].valLoss).toBeCloseTo(reference.valLoss, 5);
    }
    // The candidates really differ: one set of weights for all would also pass the comparison above.
    expect(relativeDifference(weightsOf(together[0]), weightsOf(together[1]))).toBeGreaterThan(1e-3);
    [...together, ...alone].forEach((head) => head.dispose());
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('stops each candidate on its own validation loss, as a run stops early', async () => {
    // Random labels: the fast learner memorises and its validation loss soon rises; the slow one keeps improving.
    const training = randomLabelled(160, 24, 2, 3);
    const validation = randomLabelled(80, 24, 2, 4);
    const candidates: Candidate[] = [
      { spec: { kind: 'mlp', inputDim: 24, classes: 2, hidden: [64] }, seed: 1, optimizer: { kind: 'adam', learningRate: 0.05 } },
      { spec: { kind: 'logistic', inputDim: 24, classes: 2 }, seed: 1, optimizer: { kind: 'sgd', learningRate: 1e-4 } },
      { spec: { kind: 'mlp', inputDim: 24, classes: 2, hidden: [32] }, seed: 2, optimizer: { kind: 'adam', learningRate: 0.02 } },
    ];
    const sources = sourcesOf(training, validation);
    const epochsSeen: number[] = [];
    const together = build(candidates);
    const progress = await trainCandidates(together, sources, { epochs: 12, earlyStoppingPatience: 2, onEpoch: (epoch) => void epochsSeen.push(epoch) });
    const alone = build(candidates);
    const references = [];
    for (const [i, head] of alone.entries()) {
      const reference = await trainAlone(head, sources, 12, 2);
      references.push(reference);
      expect(progress[i]).toMatchObject({ epochsTrained: reference.epochsTrained, bestEpoch: reference.bestEpoch, stopped: reference.stopped });
      expect(relativeDifference(weightsOf(together[i]), weightsOf(head))).toBeLessThan(1e-5);
    }
    // Not vacuous: one candidate stopped early and another trained every epoch.
    expect(references.some((r) => r.stopped)).toBe(true);
    expect(references.some((r) => !r.stopped && r.epochsTrained === 12)).toBe(true);
    expect(epochsSeen).toEqual(Array.from({ length: 12 }, (_, epoch) => epoch));
    [...together, ...alone].forEach((head) => head.dispose());
  });

  it('chooses the L2 that trying the grid one candidate after another chooses', async () => {
    // Few noisy rows in many dimensions: the L2 strength matters to the validation loss.
    const training = clusters(120, 64, 4, 17, 0, 0.25);
    const validation = clusters(200, 64, 4, 17, 1, 0.25);
    const sources = sourcesOf(training, validation);
    const optimizer: OptimizerSpec = { kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.005 };
    const candidates = L2_GRID.map((l2): Candidate => ({ spec: { kind: 'logistic', inputDim: 64, classes: 4, l2 }, seed: 42, optimizer }));

    const oneByOne: number[] = [];
    for (const head of build(candidates)) {
      oneByOne.push((await trainAlone(head, sources, 5)).valLoss);
      head.dispose();
    }
    const together = build(candidates);
    const progress = await trainCandidates(together, sources, { epochs: 5, validate: 'last-epoch' });
    together.forEach((head) => head.dispose());

    const losses = progress.map((p) => p.valLoss!);
    losses.forEach((loss, i) => expect(loss).toBeCloseTo(oneByOne[i], 5));
    const chosen = selectL2(L2_GRID, losses);
    expect(chosen).toBe(selectL2(L2_GRID, oneByOne));
    // Not vacuous: the grid's losses differ enough to pick one, and not merely the first.
    expect(Math.max(...losses) - Math.min(...losses)).toBeGreaterThan(0.01);
    expect(chosen).not.toBe(L2_GRID[0]);
  });

  it('evaluates every candidate in one pass over the split', async () => {
    const data = clusters(50, 8, 2, 1);
    const heads = [createHead({ kind: 'logistic', inputDim: 8, classes: 2 }, 1), createHead({ kind: 'mlp', inputDim: 8, classes: 2, hidden: [4] }, 2)];
    let reads = 0;
    async function* counted() {
      for await (const batch of batchesOf(data, 16)) {
        reads += 1;
        yield batch;
      }
    }
    const results = await evaluateCandidatesPass(heads, counted());
    expect(reads).toBe(4);
    for (const [i, head] of heads.entries()) {
      const alone = await evaluate(head, batchesOf(data, 16));
      expect(results[i].rows).toBe(50);
      expect(results[i].loss).toBeCloseTo(alone.loss, 6);
      expect(results[i].accuracy).toBeCloseTo(alone.accuracy, 10);
    }
    heads.forEach((head) => head.dispose());
  });

  it('stops where beforeBatch throws, leaking no tensors', async () => {
    const data = clusters(64, 8, 2, 1);
    const heads = [createHead({ kind: 'logistic', inputDim: 8, classes: 2 }, 1), createHead({ kind: 'logistic', inputDim: 8, classes: 2, l2: 0.1 }, 1)];
    const tensorsBefore = tf.memory().numTensors;
    let batches = 0;
    const beforeBatch = () => {
      if (++batches === 3) throw new Error('cancelled');
    };
    await expect(trainCandidates(heads, sourcesOf(data, data), { epochs: 2, beforeBatch })).rejects.toThrow('cancelled');
    expect(heads.map((head) => head.step)).toEqual([2, 2]);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    heads.forEach((head) => head.dispose());
  });

  it('rejects candidates and options it cannot train', async () => {
    const data = clusters(32, 8, 2, 1);
    const head = createHead({ kind: 'logistic', inputDim: 8, classes: 2 }, 1);
    const wider = createHead({ kind: 'logistic', inputDim: 9, classes: 2 }, 1);
    const sources = sourcesOf(data, data);
    await expect(trainCandidates([], sources, { epochs: 1 })).rejects.toThrow(/at least one head/);
    await expect(trainCandidates([head, wider], sources, { epochs: 1 })).rejects.toThrow(/candidate 1 has 9 inputs/);
    await expect(trainCandidates([head, head], sources, { epochs: 1 })).rejects.toThrow(/appears twice/);
    await expect(trainCandidates([head], sources, { epochs: 0 })).rejects.toThrow(/epochs must be a positive integer, got 0/);
    await expect(trainCandidates([head], sources, { epochs: 2, earlyStoppingPatience: 0 })).rejects.toThrow(/earlyStoppingPatience must be a positive integer/);
    await expect(trainCandidates([head], sourcesOf(data, undefined), { epochs: 2, earlyStoppingPatience: 1 })).rejects.toThrow(/needs a validation source/);
    await expect(trainCandidates([head], sources, { epochs: 2, earlyStoppingPatience: 1, validate: 'last-epoch' })).rejects.toThrow(/every-epoch/);
    await expect(trainCandidates([head], { training: async function* () {} }, { epochs: 1 })).rejects.toThrow(/no rows in epoch 1/);
    const batch = new UploadedBatch(data.features.subarray(0, 8), data.labels.subarray(0, 1), { inputDim: 8, classes: 2 });
    expect(() => wider.trainOn(batch)).toThrow(/batch of 8 features and 2 classes does not fit a head of 9 inputs/);
    batch.dispose();
    expect(head.step).toBe(0);
    [head, wider].forEach((h) => h.dispose());
  });
});
