import { selectBackend } from '@featx/vision';
import { FeatureBatch } from './batches';
import { evaluateCandidatesPass, trainCandidatesPass } from './candidates';
import { CosineKnn } from './cosine-knn';
import { createHead } from './head';
import {
  candidateName,
  candidateOptimizer,
  CandidateResult,
  CandidateSettings,
  chooseEnsemble,
  prunedWeightsToDrop,
  CONVERGED_L2_GRID,
  defaultSearchPlan,
  HeadSearchPlan,
  preferConverged,
  searchHeads,
  TrainingSample,
  viewOfBatch,
} from './head-search';
import { fitLogisticRegression } from './logistic-lbfgs';
import { averageWithMirrors, meanProbabilities, probabilitiesPass, scoreProbabilities } from './probability-scores';
import { powerNormalizeInPlace } from './power-normalization';
import { RunningStats } from './stats';
import { batchesOf, clusters, LabelledRows, randomLabelled, slice } from './testing/synthetic';

async function* epochOrder(data: LabelledRows, batchRows: number, epoch: number): AsyncGenerator<FeatureBatch> {
  const batches = Math.ceil(data.rows / batchRows);
  for (let b = 0; b < batches; b++) {
    const start = ((b + epoch * 3) % batches) * batchRows;
    yield slice(data, start, Math.min(batchRows, data.rows - start));
  }
}

function statsOf(data: LabelledRows) {
  const stats = new RunningStats(data.dim);
  stats.add(data.features, data.rows);
  return stats.result();
}

const settings = (over: Partial<CandidateSettings>): CandidateSettings => ({ kind: 'logistic', input: 'raw', optimizer: 'sgd', learningRate: 0.01, l2: 0, dropout: 0, ...over });

describe('power normalization', () => {
  it('takes the signed square root, then scales each row to a value RMS of 1; a zero row stays zero', () => {
    const rows = Float32Array.from([4, -9, 0, 0, 0, 0, 0, 0]);
    powerNormalizeInPlace(rows, 4);
    // sqrt: [2, -3, 0, 0], norm √13, scaled to norm √4 = 2.
    const scale = 2 / Math.sqrt(13);
    expect(Array.from(rows.subarray(0, 4))).toEqual([2 * scale, -3 * scale, 0, 0].map((x) => Math.fround(x)));
    expect(Array.from(rows.subarray(4))).toEqual([0, 0, 0, 0]);
  });

  it('refuses values that are not whole rows', () => {
    expect(() => powerNormalizeInPlace(new Float32Array(5), 4)).toThrow(/5 values are not whole rows of 4/);
  });
});

describe('CosineKnn', () => {
  beforeAll(() => selectBackend('cpu'));

  it('finds the nearest training rows by angle, whatever their length', () => {
    const validation = { features: Float32Array.from([1, 0, 0, 1]), labels: Int32Array.from([0, 1]), rows: 2 };
    const knn = new CosineKnn(validation, 2, 2, [1, 3]);
    // Long vectors along each axis with the right labels, short ones at 45° with the wrong ones.
    knn.addTraining({ features: Float32Array.from([10, 0.1, 0.1, 10, 1, 1.2, 1.2, 1]), labels: Int32Array.from([0, 1, 1, 0]), rows: 4 });
    const result = knn.result();
    expect(result.byK).toEqual([
      { k: 1, accuracy: 1 },
      { k: 3, accuracy: 1 },
    ]);
    expect(result.k).toBe(1);
    knn.dispose();
  });
});

describe('trainCandidatesPass with views', () => {
  beforeAll(() => selectBackend('cpu'));

  it('gives each head exactly the updates it gets trained alone on its view of the batches', async () => {
    const data = clusters(64, 6, 3, 5);
    const standardization = statsOf(data);
    const views = (['raw', 'standardized', 'power'] as const).map((view) => (batch: FeatureBatch) => viewOfBatch(view, batch, 6, standardization));
    const make = () => [0, 1, 2].map(() => createHead({ kind: 'logistic', inputDim: 6, classes: 3 }, 7, { kind: 'sgd', learningRate: 0.05, momentum: 0.9 }));
    const together = make();
    await trainCandidatesPass(together, batchesOf(data, 16), { views: { transforms: views, viewOf: [0, 1, 2] } });
    const alone = make();
    for (let v = 0; v < 3; v++) {
      for await (const batch of batchesOf(data, 16)) {
        const prepared = views[v](batch);
        alone[v].trainBatch(prepared.features, prepared.labels.slice(0, prepared.rows));
      }
    }
    together.forEach((head, i) => {
      const [a, b] = [head, alone[i]].map((h) => h.parameters().map((p) => Array.from(p.tensor.dataSync())));
      expect(a).toEqual(b);
    });
    // The views differ: the three heads do not end equal.
    expect(together[0].parameters()[0].tensor.dataSync()).not.toEqual(together[2].parameters()[0].tensor.dataSync());
    [...together, ...alone].forEach((h) => h.dispose());
  });
});

describe('searchHeads', () => {
  beforeAll(() => selectBackend('cpu'));

  const training = clusters(96, 8, 3, 11, 0, 0.6);
  const validation = clusters(48, 8, 3, 11, 1, 0.6);
  const sources = { training: (epoch: number) => epochOrder(training, 16, epoch), validation: () => batchesOf(validation, 16) };
  const options = { dim: 8, classes: 3, standardization: statsOf(training) };

  it('chooses by validation accuracy, and its head is the winner at its best epoch', async () => {
    const plan: HeadSearchPlan = {
      // A learning rate too small to learn anything in 4 epochs, and a working one.
      candidates: [settings({ learningRate: 1e-7 }), settings({ learningRate: 0.05, input: 'standardized' }), settings({ kind: 'mlp', learningRate: 0.05, input: 'power' })],
      epochs: 4,
      patience: 10,
      rungs: [],
      knnK: [1, 3],
      seed: 3,
    };
    const result = await searchHeads(plan, sources, { ...options, keepAllSnapshots: true });
    const winner = result.candidates[result.winner];
    expect(winner.settings.learningRate).toBe(0.05);
    for (const candidate of result.candidates) {
      expect(candidate.history).toHaveLength(4);
      expect(candidate.valAccuracy).toBe(Math.max(...candidate.history.map((e) => e.valAccuracy)));
      expect(candidate.name).toBe(candidateName(candidate.settings));
    }
    expect(result.candidates[0].valAccuracy!).toBeLessThan(winner.valAccuracy!);
    // The returned head scores what the winner scored at its best epoch.
    const view = (batch: FeatureBatch) => viewOfBatch(winner.settings.input, batch, 8, options.standardization);
    const [score] = await evaluateCandidatesPass([result.head], batchesOf(validation, 16), { views: { transforms: [view], viewOf: [0] } });
    expect(score.accuracy).toBe(winner.valAccuracy);
    expect(score.loss).toBeCloseTo(winner.valLoss!, 5);
    expect(result.knn?.byK.map((k) => k.k)).toEqual([1, 3]);
    result.head.dispose();
  });

  it('with validation mirrors, scores each candidate on image and mirror averaged, and may choose the mean of its best candidates', async () => {
    // The mirrors: the validation rows of another draw of the same clusters, in reverse order, paired by mirrorOf.
    const mirrored = clusters(48, 8, 3, 11, 2, 0.6);
    const reversed = { ...mirrored, features: new Float32Array(mirrored.features.length), labels: Int32Array.from(mirrored.labels).reverse() };
    for (let r = 0; r < 48; r++) reversed.features.set(mirrored.features.subarray(r * 8, (r + 1) * 8), (47 - r) * 8);
    const mirrorOf = Int32Array.from({ length: 48 }, (_, r) => 47 - r);
    const plan: HeadSearchPlan = {
      candidates: [settings({ learningRate: 0.05 }), settings({ learningRate: 0.02, input: 'standardized' }), settings({ kind: 'mlp', learningRate: 0.05, input: 'power' })],
      epochs: 3,
      patience: 10,
      rungs: [],
      knnK: [],
      seed: 3,
      ensembleMax: 3,
    };
    const result = await searchHeads(plan, { ...sources, validationMirrors: () => batchesOf(reversed, 16) }, { ...options, validationMirrorOf: mirrorOf, keepAllSnapshots: true });
    expect(result.testTimeMirrors).toBe(true);
    // Each candidate's recorded best is its best epoch's head on image and mirror averaged.
    const probabilitiesOf = async (i: number) => {
      const head = result.candidateHead(i)!;
      const view = { transforms: [(b: FeatureBatch) => viewOfBatch(plan.candidates[i].input, b, 8, options.standardization)], viewOf: [0] };
      const images = await probabilitiesPass([head], batchesOf(validation, 16), { views: view });
      const mirrors = await probabilitiesPass([head], batchesOf(reversed, 16), { views: view });
      head.dispose();
      return averageWithMirrors(images.probabilities[0], mirrors.probabilities[0], 3, mirrorOf);
    };
    const averaged = await Promise.all(plan.candidates.map((_, i) => probabilitiesOf(i)));
    averaged.forEach((p, i) => {
      const score = scoreProbabilities(p, validation.labels, 3);
      expect(score.accuracy).toBe(result.candidates[i].valAccuracy);
      expect(score.loss).toBeCloseTo(result.candidates[i].valLoss!, 5);
    });
    // The ensemble: k = 1..3, the winner first, then the others by validation loss; each k's mean scored as recorded, the best chosen.
    const { members, byK } = result.ensemble;
    expect(members[0]).toBe(result.winner);
    expect(byK.map((k) => k.k)).toEqual([1, 2, 3]);
    const [, ...others] = byK[2].members;
    expect(others).toEqual([0, 1, 2].filter((i) => i !== result.winner).sort((a, b) => result.candidates[a].valLoss! - result.candidates[b].valLoss!));
    for (const k of byK) {
      const score = scoreProbabilities(meanProbabilities(k.members.map((i) => averaged[i])), validation.labels, 3);
      expect(score.accuracy).toBe(k.valAccuracy);
      expect(score.loss).toBeCloseTo(k.valLoss, 5);
    }
    const best = Math.min(...byK.map((k) => k.valLoss));
    expect(result.ensemble.valLoss).toBe(best);
    expect(members).toEqual(byK.find((k) => k.valLoss === best)!.members);
    result.head.dispose();
  });

  it('prunes all but the best fraction at each rung and stops a candidate that no longer improves', async () => {
    const candidates = [1e-7, 1e-6, 0.02, 0.05].map((learningRate) => settings({ learningRate }));
    const plan: HeadSearchPlan = { candidates, epochs: 6, patience: 10, rungs: [{ epoch: 2, keep: 0.5 }], knnK: [], seed: 3 };
    const result = await searchHeads(plan, sources, options);
    const pruned = result.candidates.filter((c) => c.outcome === 'pruned');
    expect(pruned).toHaveLength(2);
    pruned.forEach((c) => expect([c.epochsTrained, c.prunedAfter]).toEqual([2, 2]));
    expect(result.candidates.filter((c) => c.outcome !== 'pruned').every((c) => c.epochsTrained === 6)).toBe(true);
    expect(result.knn).toBeNull();
    expect(result.knnSkipped).toBe('not asked for');
    result.head.dispose();

    // A validation split too large to hold for the kNN baseline: skipped, saying why.
    const small = await searchHeads({ ...plan, epochs: 1, rungs: [], knnK: [1] }, sources, { ...options, knnMaxBytes: 1000 });
    expect(small.knn).toBeNull();
    expect(small.knnSkipped).toMatch(/validation split would take more than 0 MiB/);
    small.head.dispose();

    // Nothing to learn: validation stops improving, and patience 1 ends the candidate early.
    const noise = randomLabelled(64, 8, 3, 4);
    const stalled = await searchHeads(
      { ...plan, candidates: [settings({ learningRate: 0.05 })], rungs: [], patience: 1 },
      { training: () => batchesOf(noise, 16), validation: () => batchesOf(randomLabelled(32, 8, 3, 9), 16) },
      options,
    );
    expect(stalled.candidates[0].outcome).toBe('early-stopped');
    expect(stalled.candidates[0].epochsTrained).toBeLessThan(6);
    stalled.head.dispose();
  });

  it('refuses a plan it cannot run, naming what is wrong', async () => {
    const plan = { ...defaultSearchPlan(8, { epochs: 2 }), knnK: [] };
    await expect(searchHeads(plan, sources, { ...options, standardization: null })).rejects.toThrow(/standardized candidates need the training split statistics/);
    await expect(searchHeads({ ...plan, candidates: [] }, sources, options)).rejects.toThrow(/no candidates/);
  });
});

describe('TrainingSample', () => {
  const batch = (from: number, rows: number, dim = 2): FeatureBatch & { imageIds: Float64Array } => ({
    features: Float32Array.from({ length: rows * dim }, (_, k) => from + Math.floor(k / dim)),
    labels: Int32Array.from({ length: rows }, (_, r) => (from + r) % 3),
    rows,
    imageIds: Float64Array.from({ length: rows }, (_, r) => 1000 + from + r),
  });

  it('holds every row, in order, while they fit', () => {
    const sample = new TrainingSample(2, 10, 1);
    sample.add(batch(0, 4));
    sample.add(batch(4, 3));
    expect([sample.rows, sample.seen, sample.sampled]).toEqual([7, 7, false]);
    const all = sample.all();
    expect([...all.features]).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
    expect([...all.labels]).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect([...all.imageIds!]).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006]);
  });

  it('keeps a uniform sample of a longer stream, each row with its label and image id, the same for the same seed', () => {
    const batches = Array.from({ length: 7 }, (_, b) => batch(b * 16, Math.min(16, 100 - b * 16)));
    const drawn = (seed: number, check = false) => {
      const sample = new TrainingSample(2, 10, seed);
      for (const b of batches) sample.add(b);
      const all = sample.all();
      const rows = Array.from({ length: all.rows }, (_, r) => all.features[r * 2]);
      if (check) {
        expect([sample.rows, sample.seen, sample.sampled]).toEqual([10, 100, true]);
        expect(rows.map((row, r) => [all.features[r * 2 + 1], all.labels[r], all.imageIds![r]])).toEqual(rows.map((row) => [row, row % 3, 1000 + row]));
      }
      return rows;
    };
    drawn(7, true);
    expect(drawn(7)).toEqual(drawn(7));
    expect(drawn(7)).not.toEqual(drawn(8));
    // Each of the 100 rows is kept with probability 10/100: over 2,000 seeds, 200 times each on average.
    const counts = new Array<number>(100).fill(0);
    for (let seed = 0; seed < 2000; seed++) for (const row of drawn(seed)) counts[row]++;
    expect(Math.min(...counts)).toBeGreaterThan(140);
    expect(Math.max(...counts)).toBeLessThan(265);
    // The first rows (kept at first, then replaced) and the last (one chance each) alike.
    const mean = (from: number, to: number) => counts.slice(from, to).reduce((a, b) => a + b, 0) / (to - from);
    expect(Math.abs(mean(0, 10) - 200)).toBeLessThan(25);
    expect(Math.abs(mean(90, 100) - 200)).toBeLessThan(25);
  });

  it('lets every row go once the split outgrows a capacity below the fewest rows worth a sample', () => {
    const sample = new TrainingSample(2, 10, 1, 20);
    sample.add(batch(0, 8));
    expect(sample.rows).toBe(8);
    sample.add(batch(8, 8));
    sample.add(batch(16, 8));
    expect([sample.rows, sample.seen, sample.sampled]).toEqual([0, 24, true]);
  });

  it('holds no image ids once a batch came without them', () => {
    const sample = new TrainingSample(2, 10, 1);
    sample.add(batch(0, 3));
    const { imageIds: _ids, ...withoutIds } = batch(3, 3);
    sample.add(withoutIds);
    expect(sample.all().imageIds).toBeNull();
  });
});

describe('searchHeads with converged (lbfgs) candidates', () => {
  beforeAll(() => selectBackend('cpu'));

  const training = clusters(96, 8, 3, 11, 0, 0.6);
  const validation = clusters(48, 8, 3, 11, 1, 0.6);
  const sources = { training: (epoch: number) => epochOrder(training, 16, epoch), validation: () => batchesOf(validation, 16) };
  const options = { dim: 8, classes: 3, standardization: statsOf(training) };
  const stepping = [settings({ learningRate: 0.05 }), settings({ kind: 'mlp', learningRate: 0.05, input: 'standardized' })];
  const fits = [settings({ optimizer: 'lbfgs', learningRate: 1, l2: 0.01, input: 'power' }), settings({ optimizer: 'lbfgs', learningRate: 1, l2: 0.001, input: 'power' })];
  const plan: HeadSearchPlan = { candidates: [...stepping, ...fits], epochs: 3, patience: 10, rungs: [], knnK: [], seed: 3 };

  it('fits them on the whole training split after the first read, scores them, and keeps them as they are', async () => {
    const result = await searchHeads(plan, sources, { ...options, keepAllSnapshots: true });
    expect(result.convergedSkipped).toBeNull();
    for (const i of [2, 3]) {
      const candidate = result.candidates[i];
      expect([candidate.outcome, candidate.epochsTrained, candidate.bestEpoch]).toEqual(['fit', 1, 1]);
      expect(candidate.valAccuracy).not.toBeNull();
      // Its weights are the fit of every training row in its view.
      const all = viewOfBatch('power', { features: training.features, labels: training.labels, rows: training.rows }, 8, null);
      const fit = fitLogisticRegression({ ...all, dim: 8, classes: 3 }, { l2: plan.candidates[i].l2 });
      expect(candidate.trainLoss).toBeCloseTo(fit.loss, 4);
      const head = result.candidateHead(i)!;
      const kernel = head.parameters().find((p) => p.name === 'dense_1/kernelT')!.tensor.dataSync();
      Array.from(kernel).forEach((w, k) => expect(w).toBeCloseTo(fit.kernelT[k], 2));
      // And it is scored as any candidate: its head on the validation split gives its recorded metrics.
      const [score] = await evaluateCandidatesPass([head], batchesOf(validation, 16), { views: { transforms: [(b) => viewOfBatch('power', b, 8, null)], viewOf: [0] } });
      expect(score.accuracy).toBe(candidate.valAccuracy);
      expect(score.loss).toBeCloseTo(candidate.valLoss!, 5);
      head.dispose();
    }
    // The stepping candidates trained on as usual.
    expect(result.candidates.slice(0, 2).map((c) => c.epochsTrained)).toEqual([3, 3]);
    result.head.dispose();
  });

  it('fits them on a seeded sample of a training split too large to hold, and says so', async () => {
    // 1000 bytes hold 31 rows of 8 float32 values, of the 96 training rows.
    const sampled = await searchHeads(plan, sources, { ...options, convergedMaxBytes: 1000, convergedMinSampleRows: 30 });
    expect(sampled.convergedSkipped).toBeNull();
    expect(sampled.convergedSample).toEqual({ rows: 31, of: 96 });
    const whole = await searchHeads(plan, sources, options);
    expect(whole.convergedSample).toBeNull();
    for (const i of [2, 3]) {
      expect([sampled.candidates[i].outcome, sampled.candidates[i].sample]).toEqual(['fit', { rows: 31, of: 96 }]);
      expect(whole.candidates[i].sample).toBeNull();
      // A fit of fewer rows: not the whole split's solution.
      expect(sampled.candidates[i].trainLoss).not.toBeCloseTo(whole.candidates[i].trainLoss!, 3);
    }
    // The same seed draws the same sample.
    const again = await searchHeads(plan, sources, { ...options, convergedMaxBytes: 1000, convergedMinSampleRows: 30 });
    expect(again.candidates).toEqual(sampled.candidates);
    [sampled, whole, again].forEach((r) => r.head.dispose());
  });

  it('skips them when a sample small enough to hold would have too few rows, saying why, and the search is the one without them', async () => {
    const skipped = await searchHeads(plan, sources, { ...options, convergedMaxBytes: 1000 });
    expect(skipped.convergedSkipped).toBe('the training split (96 rows) does not fit 0 MiB as float32, and a sample that does would hold 31 rows of 8 values, fewer than 20000');
    expect(skipped.candidates.slice(2).map((c) => [c.outcome, c.valAccuracy])).toEqual([
      ['skipped', null],
      ['skipped', null],
    ]);
    const without = await searchHeads({ ...plan, candidates: stepping }, sources, options);
    expect(skipped.candidates.slice(0, 2)).toEqual(without.candidates);
    expect(skipped.winner).toBe(without.winner);
    [skipped, without].forEach((r) => r.head.dispose());
  });

  it('ranks them at the rungs but never prunes them (they train no more)', async () => {
    const result = await searchHeads({ ...plan, rungs: [{ epoch: 1, keep: 0 }] }, sources, options);
    expect(result.candidates.slice(2).map((c) => c.outcome)).toEqual(['fit', 'fit']);
    // One candidate standing after the rung: the stepping ones ranked below it were pruned.
    expect(result.candidates.slice(0, 2).filter((c) => c.outcome === 'pruned').length).toBeGreaterThanOrEqual(1);
    result.head.dispose();
  });

  it('with convergedFolds, cross-validates them on the training split and keeps only the best in the race', async () => {
    const three = [...fits, settings({ optimizer: 'lbfgs', learningRate: 1, l2: 0.03, input: 'standardized' })];
    const result = await searchHeads({ ...plan, candidates: [...stepping, ...three], convergedFolds: 3, ensembleMax: 5 }, sources, { ...options, keepAllSnapshots: true });
    const converged = result.candidates.slice(2);
    // Every one fit and scored on validation, with its held-out scores; exactly one chosen.
    for (const c of converged) {
      expect(c.crossValidation).toMatchObject({ folds: 3 });
      expect(c.crossValidation!.accuracy).toBeGreaterThan(0.5);
      expect(c.valAccuracy).not.toBeNull();
    }
    expect(converged.filter((c) => c.crossValidation!.chosen).map((c) => c.outcome)).toEqual(['fit']);
    expect(converged.filter((c) => !c.crossValidation!.chosen).map((c) => c.outcome)).toEqual(['ruled-out', 'ruled-out']);
    // The chosen one has the best held-out accuracy (ties: lower loss).
    const chosen = converged.find((c) => c.crossValidation!.chosen)!;
    for (const c of converged) expect(chosen.crossValidation!.accuracy).toBeGreaterThanOrEqual(c.crossValidation!.accuracy);
    // A ruled-out candidate is neither the winner nor a member, whatever its validation score.
    for (const m of result.ensemble.members) expect(result.candidates[m].outcome).not.toBe('ruled-out');
    expect(result.candidates[result.winner].outcome).not.toBe('ruled-out');
    // Without folds, the same fits all compete (the plans before cross-validation).
    const plain = await searchHeads({ ...plan, candidates: [...stepping, ...three] }, sources, options);
    expect(plain.candidates.slice(2).map((c) => [c.outcome, c.crossValidation])).toEqual([
      ['fit', null],
      ['fit', null],
      ['fit', null],
    ]);
    [result, plain].forEach((r) => r.head.dispose());
  });

  it('runs a plan of converged candidates alone (a search share of them)', async () => {
    const result = await searchHeads({ ...plan, candidates: fits }, sources, options);
    expect(result.candidates.map((c) => c.outcome)).toEqual(['fit', 'fit']);
    expect(result.candidates[result.winner].valAccuracy).toBeGreaterThan(0.5);
    result.head.dispose();
  });
});

describe('preferConverged', () => {
  // Validation of 100 images of 2 classes; probabilities from which image is right.
  const labels = new Int32Array(100);
  const probabilitiesRight = (right: (r: number) => boolean) => Float32Array.from({ length: 200 }, (_, i) => (right(Math.floor(i / 2)) === (i % 2 === 0) ? 0.8 : 0.2));
  const candidate = (optimizer: CandidateSettings['optimizer'], outcome: CandidateResult['outcome'], accuracy: number, chosen?: boolean): CandidateResult => ({
    settings: settings({ optimizer }),
    name: `${optimizer} ${accuracy}`,
    epochsTrained: 1,
    bestEpoch: 1,
    valAccuracy: accuracy,
    valLoss: 0.5,
    trainAccuracy: null,
    trainLoss: null,
    outcome,
    prunedAfter: null,
    history: [],
    crossValidation: chosen === undefined ? null : { folds: 5, accuracy: 0.8, loss: 0.5, chosen },
  });

  it('takes the cross-validated converged candidate unless the leader is ahead by more than one paired standard error', () => {
    // The leader right on images 0-89, the converged one on 0-86 and 90-91: margin 1 image of 100.
    const leader = probabilitiesRight((r) => r < 90);
    const close = probabilitiesRight((r) => r < 87 || r === 90 || r === 91);
    const results = [candidate('adam', 'early-stopped', 0.9), candidate('lbfgs', 'fit', 0.87, true), candidate('lbfgs', 'ruled-out', 0.95, false)];
    const near = preferConverged(results, 0, [leader, close, leader], labels, 2);
    expect(near.winner).toBe(1);
    expect(near.compared!.accuracyMargin).toBeCloseTo(0.01, 10);
    // d is +1 on 3 images, −1 on 2: standard error √((5/100 − 0.01²)/99) ≈ 0.022.
    expect(near.compared!.standardError).toBeCloseTo(Math.sqrt((0.05 - 0.0001) / 99), 10);
    // Right on 0-69 only: 20 images behind, far past one standard error.
    const far = preferConverged(results, 0, [leader, probabilitiesRight((r) => r < 70), leader], labels, 2);
    expect([far.winner, far.compared!.winner]).toEqual([0, 0]);
  });

  it('leaves the leader alone when it is the converged one, or no converged candidate was cross-validated', () => {
    const p = probabilitiesRight((r) => r < 80);
    expect(preferConverged([candidate('lbfgs', 'fit', 0.9, true), candidate('adam', 'trained', 0.8)], 0, [p, p], labels, 2)).toEqual({ winner: 0, compared: null });
    expect(preferConverged([candidate('adam', 'trained', 0.9), candidate('lbfgs', 'fit', 0.8)], 0, [p, p], labels, 2)).toEqual({ winner: 0, compared: null });
  });
});

describe('defaultSearchPlan', () => {
  it('covers logistic over the L2 grid and the MLP with and without dropout, SGD and Adam, on three input views, and converged logistic fits', () => {
    const plan = defaultSearchPlan(62720);
    expect(plan.candidates).toHaveLength(44);
    expect(new Set(plan.candidates.map(candidateName)).size).toBe(44);
    const converged = plan.candidates.filter((c) => c.optimizer === 'lbfgs');
    expect(converged.map((c) => `${c.input} ${c.l2}`)).toEqual(['standardized', 'power'].flatMap((input) => CONVERGED_L2_GRID.map((l2) => `${input} ${l2}`)));
    expect(candidateName(converged[0])).toBe('logistic lbfgs l2=0.03 standardized');
    expect(candidateOptimizer(converged[0], 25)).toEqual({ kind: 'sgd', learningRate: 1, momentum: 0, decay: 0 });
    expect(plan.candidates.filter((c) => c.optimizer === 'adam').every((c) => c.learningRate === 1e-4)).toBe(true);
    expect(defaultSearchPlan(1280).candidates.find((c) => c.optimizer === 'adam')!.learningRate).toBe(1e-3);
    expect(candidateOptimizer(plan.candidates[0], 25)).toEqual({ kind: 'sgd', learningRate: 1e-3, momentum: 0.9, decay: 1e-3 / 25 });
    expect(plan.rungs.map((r) => r.epoch)).toEqual([1, 3, 8]);
    // Cross-validation of the converged candidates is asked for per run (cvFolds), not in the default plan.
    expect(plan.convergedFolds).toBeUndefined();
  });
});

describe('chooseEnsemble', () => {
  const candidate = (valAccuracy: number, valLoss: number): CandidateResult => ({
    settings: settings({}),
    name: `c${valAccuracy}`,
    epochsTrained: 1,
    bestEpoch: 1,
    valAccuracy,
    valLoss,
    trainAccuracy: null,
    trainLoss: null,
    outcome: 'trained',
    prunedAfter: null,
    history: [],
  });
  const labels = Int32Array.from([0, 1, 1]);

  it('takes the winner, then the others in order of validation loss, not accuracy', () => {
    // Winner 1 by accuracy; of the others, 2 is more accurate but 0 has the lower loss: 0 comes first.
    const results = [candidate(0.6, 0.3), candidate(0.7, 0.4), candidate(0.65, 0.5), candidate(0.66, 0.3)];
    const p = Float32Array.from([0.6, 0.4, 0.4, 0.6, 0.4, 0.6]);
    const chosen = chooseEnsemble(results, 1, [p, p, p, p], labels, 2, 4);
    // Equal losses (0 and 3): the more accurate first.
    expect(chosen.byK.map((k) => k.members)).toEqual([[1], [1, 3], [1, 3, 0], [1, 3, 0, 2]]);
    // Identical members: every k scores alike, and the smaller k wins the tie.
    expect(chosen.members).toEqual([1]);
  });

  it('takes the winner and the next by validation loss, k by validation loss, then accuracy, then the smaller k', () => {
    const results = [candidate(0.6, 0.5), candidate(0.7, 0.4), candidate(0.65, 0.5)];
    // Winner 1 alone gets rows 0 and 1 right; with 2 (next by rank) all three; 0 adds nothing.
    const probabilities = [Float32Array.from([0.9, 0.1, 0.9, 0.1, 0.9, 0.1]), Float32Array.from([0.6, 0.4, 0.4, 0.6, 0.55, 0.45]), Float32Array.from([0.5, 0.5, 0.5, 0.5, 0.2, 0.8])];
    const chosen = chooseEnsemble(results, 1, probabilities, labels, 2, 3);
    expect(chosen.byK.map((k) => k.members)).toEqual([[1], [1, 2], [1, 2, 0]]);
    expect(chosen.members).toEqual([1, 2]);
    expect(chosen.valAccuracy).toBe(1);
    // max 1: the winner alone; a candidate without kept probabilities is never a member.
    expect(chooseEnsemble(results, 1, probabilities, labels, 2, 1).members).toEqual([1]);
    expect(chooseEnsemble(results, 1, [probabilities[0], probabilities[1], undefined], labels, 2, 3).byK.map((k) => k.members)).toEqual([[1], [1, 0]]);
    expect(() => chooseEnsemble(results, 1, [], labels, 2, 3)).toThrow(/no validation probabilities kept for the winner/);
  });

  it('keeps a pruned candidate\'s weights only while it is among the lowest validation losses (a possible member)', () => {
    const pruned = (valAccuracy: number, valLoss: number): CandidateResult => ({ ...candidate(valAccuracy, valLoss), outcome: 'pruned' });
    // 0 leads on accuracy but has the highest loss; 2 and 3, pruned with the lowest losses, stay; 4 is ruled out of every ensemble.
    const results = [candidate(0.9, 0.6), pruned(0.85, 0.5), pruned(0.7, 0.2), pruned(0.75, 0.3), { ...candidate(0.8, 0.1), outcome: 'ruled-out' as const }];
    expect(prunedWeightsToDrop(results, 2)).toEqual([1]);
    expect(prunedWeightsToDrop(results, 1)).toEqual([1, 3]);
    expect(prunedWeightsToDrop(results, 4)).toEqual([]);
  });

  it('prefers the smaller ensemble when loss and accuracy tie', () => {
    const same = Float32Array.from([0.8, 0.2, 0.3, 0.7, 0.3, 0.7]);
    expect(chooseEnsemble([candidate(1, 0.3), candidate(1, 0.3)], 0, [same, same], labels, 2, 2).members).toEqual([0]);
  });
});
