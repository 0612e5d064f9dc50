/**
 * `npm run bench:head-search -- <feature set folder>`: the `--head auto` search on a stored feature
 * set (its shard files read into memory: this measures the search, not the read path), against one
 * default fit of the grid's largest candidate (the tutorial's MLP, SGD, on the inputs as stored, 25
 * epochs with a validation pass each, as `featx train` runs it), on the same batches.
 *
 * Then every candidate's best epoch — pruned ones too (keepAllSnapshots) — and the kNN baseline are
 * scored on the evaluation split: the leaderboard, and how far the search's winner is from the
 * best candidate measured there.
 *
 * A set extracted with `--augment hflip` (a `training-hflip` folder beside `training`) is searched
 * twice on the same images: without the augmented rows, then with them in the training split
 * (validation and evaluation are the images alone either way), one leaderboard each.
 *
 *   npm run bench:head-search -- .featx/features/<featureSetId>
 *   BENCH_FULL=1 ...   no pruning: every candidate trains until it stops early (the whole grid's evaluation accuracies)
 *   BENCH_NO_FIT=1 ...   skip the default fit (the search's cost is then not compared)
 *   BENCH_ONLY='<candidate name>[;<name>…]' ...   only these candidates, no kNN baseline: a fixed head with and without hflip, at a fraction of the grid's cost
 *   BENCH_SEED=n, BENCH_ENSEMBLE_MAX=k ...   the plan's seed (initial weights, dropout, folds), the most candidates its model may average
 *   BENCH_FOLDS=k ...   the converged candidates' cross-validation folds (`--cv-folds`; 0: none, as by default)
 *   BENCH_SEED=42,1,2,3 BENCH_FOLDS=0,5 ...   every seed with every folds value, then a table of auto's model against the best candidate for each
 *   BENCH_HFLIP_ONLY=1 ...   an hflip set: only the search with the augmented training rows
 *   BENCH_NO_TTA=1 ...   an hflip set with mirrored validation and evaluation rows: score without averaging each image with its mirror
 *   BENCH_JSON=out.json ...   the figures as JSON
 *
 * A set extracted with `--augment hflip` since validation and evaluation images are mirrored too
 * (`validation-hflip`, `evaluation-hflip` folders) is scored as the trainer scores it: each
 * image's probabilities averaged with its mirror's, on validation (selection) and evaluation; the
 * evaluation accuracy without that average is shown beside it. The chosen ensemble (the average of
 * the best k candidates, k chosen on validation) is scored on the evaluation split too.
 *
 * The gap to the best candidate on the evaluation split comes with how much of it is that split's own
 * noise (`resampledGap`): the evaluation images drawn again with replacement 2,000 times, the share of
 * draws in which auto's model is within 0.5 point of the draw's best candidate, and the same share
 * for the candidate best on the whole split (a choice that had seen the evaluation split).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Split } from '@featx/contracts';
import { fromFloat16, readNpy } from '@featx/features';
import {
  averageWithMirrors,
  candidateName,
  meanProbabilities,
  probabilitiesPass,
  resampledGap,
  ResampledGap,
  scoreProbabilities,
  CosineKnn,
  createHead,
  defaultSearchPlan,
  evaluateCandidatesPass,
  FeatureBatch,
  HeadSearchPlan,
  INPUT_VIEWS,
  RunningStats,
  searchHeads,
  trainCandidatesPass,
  TUTORIAL_SGD,
  viewOfBatch,
} from '@featx/learning';
import { selectBackend } from '@featx/vision';
import { writeBenchJson } from './bench-json';
import { runBenchMain } from './bench-main';

interface SplitRows {
  features: Float32Array;
  labels: Int32Array;
  rows: number;
  /** Each row's image (a mirror's is its image's): what the converged candidates' cross-validation folds group by. */
  imageIds?: Float64Array;
}

const BATCH = 32;

/** The rows of a folder of shards (`<split>` or `<split>-<augment>`). */
async function readSplit(folder: string, split: Split | `${Split}-hflip`): Promise<SplitRows> {
  const dir = path.join(folder, split);
  const parts: Array<{ features: Float32Array; labels: Int32Array }> = [];
  for (const shard of (await fs.readdir(dir)).sort()) {
    const features = await readNpy(path.join(dir, shard, 'features.npy'));
    const labels = await readNpy(path.join(dir, shard, 'labels.npy'));
    const values = features.dtype === '<f2' ? fromFloat16(features.data as Uint16Array) : (features.data as Float32Array);
    parts.push({ features: values, labels: labels.data as Int32Array });
  }
  const rows = parts.reduce((n, p) => n + p.labels.length, 0);
  const dim = parts[0].features.length / parts[0].labels.length;
  const out = { features: new Float32Array(rows * dim), labels: new Int32Array(rows), rows };
  let at = 0;
  for (const part of parts) {
    out.features.set(part.features, at * dim);
    out.labels.set(part.labels, at);
    at += part.labels.length;
  }
  return out;
}

/** Batches of the split, shuffled by a seeded permutation per epoch (or in stored order). */
function* batchesOf(split: SplitRows, dim: number, epoch: number | null): Generator<FeatureBatch> {
  const order = Int32Array.from({ length: split.rows }, (_, i) => i);
  if (epoch !== null) {
    let state = (42 + epoch * 7919) >>> 0;
    for (let i = order.length - 1; i > 0; i--) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      const j = state % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  for (let start = 0; start < split.rows; start += BATCH) {
    const rows = Math.min(BATCH, split.rows - start);
    const features = new Float32Array(rows * dim);
    const labels = new Int32Array(rows);
    const imageIds = split.imageIds && new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const row = order[start + r];
      features.set(split.features.subarray(row * dim, (row + 1) * dim), r * dim);
      labels[r] = split.labels[row];
      if (imageIds) imageIds[r] = split.imageIds![row];
    }
    yield { features, labels, rows, ...(imageIds ? { imageIds } : {}) };
  }
}

async function* asAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

function concatRows(a: SplitRows, b: SplitRows): SplitRows {
  const features = new Float32Array(a.features.length + b.features.length);
  features.set(a.features);
  features.set(b.features, a.features.length);
  const labels = new Int32Array(a.rows + b.rows);
  labels.set(a.labels);
  labels.set(b.labels, a.rows);
  const imageIds = a.imageIds && b.imageIds ? new Float64Array(a.rows + b.rows) : undefined;
  imageIds?.set(a.imageIds!);
  imageIds?.set(b.imageIds!, a.rows);
  return { features, labels, rows: a.rows + b.rows, ...(imageIds ? { imageIds } : {}) };
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(() => true, () => false);
}

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);

async function main() {
  const folder = process.argv[2];
  if (!folder) throw new Error('usage: npm run bench:head-search -- <feature set folder (FEATX_FEATURES_DIR/<id>)>');
  await selectBackend('auto', { log: () => undefined });
  const [training, validation, evaluation] = await Promise.all((['training', 'validation', 'evaluation'] as const).map((s) => readSplit(folder, s)));
  const mirrored = (await exists(path.join(folder, 'training-hflip'))) ? await readSplit(folder, 'training-hflip') : null;
  // Image ids by row: the store writes an image and its mirror in the same order, so row i of both is image i.
  training.imageIds = Float64Array.from({ length: training.rows }, (_, i) => i);
  if (mirrored) {
    if (mirrored.rows !== training.rows) throw new Error(`${folder}: ${training.rows} training rows but ${mirrored.rows} mirrors: cannot pair them row for row`);
    mirrored.imageIds = training.imageIds;
  }
  // Mirrors of validation and evaluation rows, row for row (one store writer appends an image and its mirror in the same order).
  const tta =
    !process.env.BENCH_NO_TTA && (await exists(path.join(folder, 'validation-hflip'))) && (await exists(path.join(folder, 'evaluation-hflip')))
      ? { validation: await readSplit(folder, 'validation-hflip'), evaluation: await readSplit(folder, 'evaluation-hflip') }
      : null;
  if (tta) console.log('validation and evaluation scored with each image averaged with its mirror (test-time augmentation)');
  const dim = training.features.length / training.rows;
  const classes = Math.max(...training.labels) + 1;
  console.log(`${folder}: ${training.rows} / ${validation.rows} / ${evaluation.rows} rows of ${dim}, ${classes} classes${mirrored ? `, ${mirrored.rows} augmented (hflip) training rows` : ''}`);

  const oneFit = process.env.BENCH_NO_FIT ? null : await defaultFit(training, validation, evaluation, dim, classes);
  const list = (value: string | undefined) => (value ? value.split(',').map(Number) : [undefined]);
  const variants = list(process.env.BENCH_SEED).flatMap((seed) => list(process.env.BENCH_FOLDS).map((folds) => ({ seed, folds })));
  const results = [];
  for (const variant of variants) {
    const tag = variants.length > 1 ? ` (seed ${variant.seed ?? 'default'}, folds ${variant.folds ?? 'default'})` : '';
    if (!(mirrored && process.env.BENCH_HFLIP_ONLY)) results.push({ ...variant, ...(await searchAndScore(`without hflip${tag}`, training, validation, evaluation, dim, classes, oneFit, tta, variant)) });
    if (mirrored) results.push({ ...variant, ...(await searchAndScore(`with hflip${tag}`, concatRows(training, mirrored), validation, evaluation, dim, classes, oneFit, tta, variant)) });
  }
  if (variants.length > 1) printVariantTable(results);
  if (results.length > 1) {
    console.log('\n| training rows | auto chose | val accuracy | evaluation accuracy | best candidate on evaluation | search (s) |');
    console.log('|---|---|---|---|---|---|');
    for (const r of results) console.log(`| ${r.label} (${r.trainingRows}) | ${r.winner.name} | ${pct(r.winner.valAccuracy)} | **${pct(r.winner.evalAccuracy)}** | ${r.bestOnEvaluation.name} ${pct(r.bestOnEvaluation.evalAccuracy)} | ${r.searchS.toFixed(1)} |`);
  }
  writeBenchJson({ folder, dim, oneFit, results });
}

/** Seeds × folds: auto's model on the evaluation split (the best candidate's there) and the search's time, with each column's mean. */
function printVariantTable(results: Array<{ seed?: number; folds?: number; label: string; ensemble: { evalAccuracy: number }; bestOnEvaluation: { evalAccuracy: number }; searchS: number; noise: ResampledGap }>): void {
  const folds = [...new Set(results.map((r) => r.folds))];
  const rows = [...new Set(results.map((r) => `${r.seed}|${r.label.startsWith('with hflip') ? 'with hflip' : 'without hflip'}`))];
  const name = (f: number | undefined) => (f === undefined ? 'default folds' : f === 0 ? 'no folds' : `${f} folds`);
  console.log(`\n| seed | training rows | ${folds.map(name).join(' | ')} |`);
  console.log(`|---|---|${folds.map(() => '---|').join('')}`);
  for (const row of rows) {
    const [seed, rowsLabel] = row.split('|');
    const cells = folds.map((f) => {
      const r = results.find((x) => `${x.seed}|${x.label.startsWith('with hflip') ? 'with hflip' : 'without hflip'}` === row && x.folds === f)!;
      return `${pct(r.ensemble.evalAccuracy)} (${pct(r.bestOnEvaluation.evalAccuracy)}) ${r.searchS.toFixed(1)} s, within 0.5: ${pct(r.noise.modelWithin)} / ${pct(r.noise.bestWithin)}`;
    });
    console.log(`| ${seed} | ${rowsLabel} | ${cells.join(' | ')} |`);
  }
  const means = folds.map((f) => {
    const mine = results.filter((r) => r.folds === f);
    return `${pct(mine.reduce((sum, r) => sum + r.ensemble.evalAccuracy, 0) / mine.length)}`;
  });
  console.log(`| mean | | ${means.join(' | ')} |`);
  console.log(
    "(each cell: auto's model on the evaluation split, the best single candidate there in brackets, the search's time, then the share of bootstrap draws of the evaluation split in which auto's model / the best candidate on the whole split is within 0.5 point of the draw's best candidate)",
  );
}

/** One default fit of the largest candidate: the tutorial's MLP and SGD on the inputs as stored, 25 epochs. */
async function defaultFit(training: SplitRows, validation: SplitRows, evaluation: SplitRows, dim: number, classes: number) {
  const fitStarted = performance.now();
  const mlp = createHead({ kind: 'mlp', inputDim: dim, classes }, 42, TUTORIAL_SGD, undefined, { engine: 'auto' });
  for (let epoch = 0; epoch < 25; epoch++) {
    await trainCandidatesPass([mlp], asAsync(batchesOf(training, dim, epoch)));
    await evaluateCandidatesPass([mlp], asAsync(batchesOf(validation, dim, null)));
  }
  const [fitEvaluation] = await evaluateCandidatesPass([mlp], asAsync(batchesOf(evaluation, dim, null)));
  mlp.dispose();
  const seconds = (performance.now() - fitStarted) / 1000;
  console.log(`one default fit (mlp sgd raw, 25 epochs): ${seconds.toFixed(1)} s, evaluation accuracy ${(fitEvaluation.accuracy * 100).toFixed(1)}%`);
  return { seconds, evaluationAccuracy: fitEvaluation.accuracy };
}

/** The search on these training rows, then every candidate's best epoch (and the kNN baseline) scored on the evaluation split. */
async function searchAndScore(
  label: string,
  training: SplitRows,
  validation: SplitRows,
  evaluation: SplitRows,
  dim: number,
  classes: number,
  oneFit: { seconds: number } | null,
  tta: { validation: SplitRows; evaluation: SplitRows } | null,
  variant: { seed?: number; folds?: number } = {},
) {
  console.log(`\n## ${label}: ${training.rows} training rows`);
  const stats = new RunningStats(dim);
  stats.add(training.features, training.rows);
  const standardization = stats.result();
  const sources = {
    training: (epoch: number) => asAsync(batchesOf(training, dim, epoch)),
    validation: () => asAsync(batchesOf(validation, dim, null)),
    ...(tta ? { validationMirrors: () => asAsync(batchesOf(tta.validation, dim, null)) } : {}),
  };
  const plan: HeadSearchPlan = { ...defaultSearchPlan(dim), ...(process.env.BENCH_FULL ? { rungs: [] } : {}) };
  if (variant.seed !== undefined) plan.seed = variant.seed;
  if (process.env.BENCH_ENSEMBLE_MAX) plan.ensembleMax = Number(process.env.BENCH_ENSEMBLE_MAX);
  if (variant.folds !== undefined) plan.convergedFolds = variant.folds;
  if (process.env.BENCH_ONLY) {
    const only = process.env.BENCH_ONLY.split(';');
    plan.candidates = plan.candidates.filter((c) => only.includes(candidateName(c)));
    if (plan.candidates.length !== only.length) throw new Error(`BENCH_ONLY: ${only.join('; ')} are not all candidates of the grid (${defaultSearchPlan(dim).candidates.map(candidateName).join('; ')})`);
    Object.assign(plan, { rungs: [], knnK: [] });
  }
  const searchStarted = performance.now();
  const result = await searchHeads(plan, sources, {
    dim,
    classes,
    standardization,
    engine: 'auto',
    keepAllSnapshots: true,
    onEpoch: (epoch, candidates) => {
      const active = candidates.filter((c) => c.epochsTrained === epoch + 1 && c.outcome === 'trained').length;
      process.stdout.write(`\repoch ${epoch + 1}: ${active} candidates training, ${((performance.now() - searchStarted) / 1000).toFixed(1)} s   `);
    },
  });
  const searchS = (performance.now() - searchStarted) / 1000;
  const fits = oneFit ? ` = ${(searchS / oneFit.seconds).toFixed(2)} default fits` : '';
  console.log(`\nsearch: ${searchS.toFixed(1)} s${fits}; winner ${result.candidates[result.winner].name}`);

  // Every candidate's best epoch on the evaluation split (mirror-averaged where the set has mirrors).
  const scored = [];
  const evalProbabilities = new Map<number, Float32Array>();
  // 1 where a candidate classifies an evaluation image right, from the score each already has (for resampledGap).
  const evalRight = new Map<number, Uint8Array>();
  const rightOf = (predicted: Int32Array) => Uint8Array.from(predicted, (p, r) => (p === evaluation.labels[r] ? 1 : 0));
  for (let i = 0; i < result.candidates.length; i++) {
    const head = result.candidateHead(i);
    if (!head) continue;
    const view = result.candidates[i].settings.input;
    const batches = [...batchesOf(evaluation, dim, null)].map((b) => viewOfBatch(view, b, dim, standardization));
    const images = await probabilitiesPass([head], asAsync(batches));
    let probabilities = images.probabilities[0];
    if (tta) {
      const mirrorBatches = [...batchesOf(tta.evaluation, dim, null)].map((b) => viewOfBatch(view, b, dim, standardization));
      probabilities = averageWithMirrors(probabilities, (await probabilitiesPass([head], asAsync(mirrorBatches))).probabilities[0], classes, null);
    }
    head.dispose();
    evalProbabilities.set(i, probabilities);
    const plain = scoreProbabilities(images.probabilities[0], images.labels, classes);
    const score = scoreProbabilities(probabilities, images.labels, classes);
    evalRight.set(i, rightOf(score.predicted));
    scored.push({ index: i, ...result.candidates[i], evalAccuracy: score.accuracy, evalLoss: score.loss, evalPlainAccuracy: plain.accuracy });
  }
  const ensembleEval = (members: number[]) => scoreProbabilities(meanProbabilities(members.map((m) => evalProbabilities.get(m)!)), evaluation.labels, classes).accuracy;
  const byK = result.ensemble.byK.map((k) => ({ ...k, evalAccuracy: ensembleEval(k.members) }));
  console.log(`\nensembles of the best k (validation${tta ? ', mirror-averaged' : ''}):`);
  for (const k of byK) console.log(`  k=${k.k}: validation ${pct(k.valAccuracy)} (loss ${k.valLoss.toFixed(3)}), evaluation ${pct(k.evalAccuracy)}${k.k === result.ensemble.members.length ? '  **chosen**' : ''}`);
  const ensemble = { members: result.ensemble.members.map((m) => result.candidates[m].name), valAccuracy: result.ensemble.valAccuracy, evalAccuracy: ensembleEval(result.ensemble.members) };
  result.head.dispose();
  let knnEval: number | null = null;
  if (result.knn) {
    const knn = new CosineKnn(evaluation, dim, classes, [result.knn.k]);
    for (const batch of batchesOf(training, dim, null)) knn.addTraining(batch);
    knnEval = knn.result().accuracy;
    knn.dispose();
  }
  scored.sort((a, b) => (b.valAccuracy ?? 0) - (a.valAccuracy ?? 0) || (a.valLoss ?? 0) - (b.valLoss ?? 0));
  const winner = scored.find((s) => s.index === result.winner)!;
  const bestOnEvaluation = scored.reduce((a, b) => (b.evalAccuracy > a.evalAccuracy ? b : a));
  console.log(`\n| rank | candidate | epochs (best) | outcome | val accuracy | val loss | evaluation accuracy${tta ? ' (mirror-averaged) | without the mirror' : ''} |`);
  console.log(`|---|---|---|---|---|---|---|${tta ? '---|' : ''}`);
  scored.forEach((s, rank) =>
    console.log(
      `| ${rank + 1}${s.index === result.winner ? ' **chosen**' : ''} | ${s.name} | ${s.epochsTrained} (${s.bestEpoch}) | ${s.outcome}${s.prunedAfter ? ` after ${s.prunedAfter}` : ''}${s.crossValidation ? ` (cv ${pct(s.crossValidation.accuracy)}, ${s.crossValidation.loss.toFixed(3)})` : ''} | ${pct(s.valAccuracy)} | ${s.valLoss?.toFixed(3)} | ${pct(s.evalAccuracy)} |${tta ? ` ${pct(s.evalPlainAccuracy)} |` : ''}`,
    ),
  );
  if (result.knn) console.log(`| baseline | cosine kNN k=${result.knn.k} | — | — | ${pct(result.knn.accuracy)} | — | ${pct(knnEval)} |`);
  console.log(`\nauto's model: ${ensemble.members.length === 1 ? ensemble.members[0] : `the mean of ${ensemble.members.join(', ')}`}: validation ${pct(ensemble.valAccuracy)}, evaluation **${pct(ensemble.evalAccuracy)}**`);
  // How much of that gap is the evaluation split's own noise (README, "Where `--head auto` stands").
  const order = [...evalRight.keys()];
  const noise = resampledGap(
    order.map((i) => evalRight.get(i)!),
    rightOf(scoreProbabilities(meanProbabilities(result.ensemble.members.map((m) => evalProbabilities.get(m)!)), evaluation.labels, classes).predicted),
  );
  console.log(
    `evaluation split resampled ${noise.resamples} times (bootstrap): auto's model within 0.5 point of the draw's best candidate in ${pct(noise.modelWithin)} of draws, ` +
      `the candidate best on the whole split (${result.candidates[order[noise.best]].name}) in ${pct(noise.bestWithin)}; gap ${(noise.gap * 100).toFixed(1)} ± ${(noise.gapStandardError * 100).toFixed(1)} points below it (± the paired standard error)`,
  );
  console.log(
    `best single candidate ${winner.name}: evaluation ${pct(winner.evalAccuracy)}; best candidate on the evaluation split: ${bestOnEvaluation.name} ${pct(bestOnEvaluation.evalAccuracy)} ` +
      `(gap: auto's model ${((bestOnEvaluation.evalAccuracy - ensemble.evalAccuracy) * 100).toFixed(1)} points, the best single candidate ${((bestOnEvaluation.evalAccuracy - winner.evalAccuracy) * 100).toFixed(1)}; among the ${scored.length} candidates with weights)`,
  );
  return { label, trainingRows: training.rows, searchS, winner, ensemble, noise, byK, testTimeMirrors: result.testTimeMirrors, bestOnEvaluation, knn: result.knn, knnEval, candidates: scored, views: INPUT_VIEWS, names: plan.candidates.map(candidateName) };
}

runBenchMain(main);
