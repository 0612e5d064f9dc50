/**
 * `npm run bench:l2`: the automatic L2 search of logistic regression (five candidates) against one
 * fit of one candidate over the same epochs, through the real feature store: a feature-store
 * process serves a synthetic stored set over NATS, and this process runs the trainer's services.
 *
 *   one fit       one head: its epochs on the training split, then one validation pass
 *   one by one    the five candidates one after another, each as one fit (the search before)
 *   together      L2Search: the five candidates on each batch read once (the search now)
 *
 * Target (issue 11): together <= 2x one fit. One fit is timed before and after the searches and
 * the two are averaged, so that the ratios compare times measured in the same minute of a shared
 * machine. Cases: pooled MobileNetV2 (1,280 float32) and flattened (62,720 float16) rows.
 *
 * "Compute only" repeats one fit and together on batches held in memory (same shapes, 2 epochs):
 * the ratio the search would reach if reading cost nothing, its bound as the read path gets faster.
 *
 *   npm run bench:l2                       both cases
 *   BENCH_CASES=flat npm run bench:l2      only cases whose name contains "flat"
 */
import { randomUUID } from 'node:crypto';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RunsRepository } from '@featx/db';
import { FeatureBatch, L2_GRID, createHead, selectL2, trainCandidates } from '@featx/learning';
import { CoreModule, loadConfig } from '@featx/runtime';
import { selectBackend } from '@featx/vision';
import { CandidateTraining } from '../apps/trainer/src/runs/candidate-training.service';
import { HeadPasses } from '../apps/trainer/src/runs/head-passes.service';
import { L2Search } from '../apps/trainer/src/runs/l2-search.service';
import { RunContext } from '../apps/trainer/src/runs/run-context';
import { createRunHead } from '../apps/trainer/src/runs/run-head';
import { RunPreparation } from '../apps/trainer/src/runs/run-preparation.service';
import { SplitStreams } from '../apps/trainer/src/runs/split-streams.service';
import { launchServices, serviceInstances } from '../tools/service-launcher';
import { openBenchStack } from './bench-stack';
import { writeBenchJson } from './bench-json';
import { runBenchMain } from './bench-main';

interface BenchCase {
  name: string;
  dim: number;
  dtype: 'float16' | 'float32';
  trainingRows: number;
  validationRows: number;
  /** Epochs of every fit (the search trains min(epochs, 10)). */
  epochs: number;
}

const CLASSES = ['dress', 'hat', 'longsleeve', 'outwear', 'pants', 'shirt', 'shoes', 'shorts', 'skirt', 't-shirt'];

const CASES: BenchCase[] = [
  // clothing-small's training and validation splits, the search's 10 epochs.
  { name: 'pooled-1280', dim: 1280, dtype: 'float32', trainingRows: 3068, validationRows: 341, epochs: 10 },
  // Flattened rows are 125 KB stored; fewer rows and epochs keep the one-by-one search to a minute or two.
  { name: 'flat-62720', dim: 62720, dtype: 'float16', trainingRows: Number(process.env.BENCH_FLAT_ROWS ?? 1024), validationRows: 256, epochs: 3 },
];

/** The trainer's services that train candidates, without the scheduler that would claim runs. */
@Module({})
class CandidateBenchModule {
  static register(env: NodeJS.ProcessEnv) {
    return {
      module: CandidateBenchModule,
      imports: [CoreModule.forService('trainer', loadConfig('trainer', env))],
      providers: [SplitStreams, HeadPasses, CandidateTraining, L2Search, RunPreparation],
    };
  }
}

interface CaseResult {
  name: string;
  oneFitS: [number, number];
  oneByOneS: number;
  togetherS: number;
  chosen: { oneByOne: number; together: number };
  computeOnly: { oneFitS: number; togetherS: number };
}

async function seconds<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await work();
  return [(performance.now() - started) / 1000, value];
}

/** The search as it was: each candidate's epochs and validation pass, one candidate at a time. */
async function searchOneByOne(passes: HeadPasses, context: RunContext, epochs: number): Promise<number> {
  const losses: number[] = [];
  for (const l2 of L2_GRID) losses.push(await oneFit(passes, context, epochs, l2));
  return selectL2(L2_GRID, losses);
}

/** One candidate alone: its epochs, then the validation loss. */
async function oneFit(passes: HeadPasses, context: RunContext, epochs: number, l2: number): Promise<number> {
  const head = createRunHead(context, l2);
  try {
    for (let epoch = 0; epoch < epochs; epoch++) await passes.train(context, head, epoch);
    return (await passes.evaluate(context, head, 'validation')).loss;
  } finally {
    head.dispose();
  }
}

/** One fit and the five candidates together on batches already in memory: no reading at all. */
async function computeOnly(c: BenchCase): Promise<CaseResult['computeOnly']> {
  await selectBackend('wasm', { log: () => undefined });
  const rows = 32;
  const batchCount = Math.ceil(Math.min(c.trainingRows, c.dim > 10000 ? 640 : 3200) / rows);
  const batches: FeatureBatch[] = Array.from({ length: batchCount }, (_, b) => ({
    features: Float32Array.from({ length: rows * c.dim }, (_, i) => Math.sin(i * 0.37 + b)),
    labels: Int32Array.from({ length: rows }, (_, r) => (r + b) % CLASSES.length),
    rows,
  }));
  async function* inMemory(): AsyncGenerator<FeatureBatch> {
    yield* batches;
  }
  const time = async (candidates: readonly number[]) => {
    const heads = candidates.map((l2) => createHead({ kind: 'logistic', inputDim: c.dim, classes: CLASSES.length, l2 }, 42, { kind: 'sgd', learningRate: 1e-3, momentum: 0.9, decay: 1e-4 }));
    const [s] = await seconds(() => trainCandidates(heads, { training: inMemory, validation: inMemory }, { epochs: 2, validate: 'last-epoch' }));
    heads.forEach((head) => head.dispose());
    return s;
  };
  await time(L2_GRID.slice(0, 1)); // warm-up: the wasm heap grows to its working size
  const first = await time(L2_GRID.slice(0, 1));
  const togetherS = await time(L2_GRID);
  const last = await time(L2_GRID.slice(0, 1));
  return { oneFitS: (first + last) / 2, togetherS };
}

async function measure(c: BenchCase): Promise<CaseResult> {
  const { featureSetId, env, close } = await openBenchStack('featx-l2-bench-', {
    classes: CLASSES,
    dim: c.dim,
    dtype: c.dtype,
    rows: { training: c.trainingRows, validation: c.validationRows, evaluation: 0 },
    separable: true,
  });
  const services = launchServices(serviceInstances(1, 970).filter((i) => i.service === 'feature-store'), env, (line) => /"level":"error"/.test(line) && console.error(line));
  const app = await NestFactory.createApplicationContext(CandidateBenchModule.register(env), { logger: false });
  try {
    await services.ready(60000);
    const config = { featureSetId, head: 'logistic', epochs: c.epochs, standardize: true };
    const run = await app.get(RunsRepository).createQueued({ id: randomUUID(), featureSetId, config, classes: CLASSES });
    const context = await app.get(RunPreparation).prepare(run, { cancelled: false, lost: false, signal: new AbortController().signal });
    const passes = app.get(HeadPasses);
    const search = app.get(L2Search);

    await oneFit(passes, context, 1, L2_GRID[0]); // warm-up, not timed: the wasm heap, XNNPACK, the store's first reads
    const [firstFit] = await seconds(() => oneFit(passes, context, c.epochs, L2_GRID[0]));
    const [togetherS, together] = await seconds(() => search.choose(context));
    const [oneByOneS, oneByOne] = await seconds(() => searchOneByOne(passes, context, c.epochs));
    const [lastFit] = await seconds(() => oneFit(passes, context, c.epochs, L2_GRID[0]));
    return { name: c.name, oneFitS: [firstFit, lastFit], oneByOneS, togetherS, chosen: { oneByOne, together }, computeOnly: await computeOnly(c) };
  } finally {
    await app.close();
    await services.stop(5000);
    await close();
  }
}

async function main() {
  const filter = process.env.BENCH_CASES;
  const selected = CASES.filter((c) => !filter || c.name.includes(filter));
  console.log(`bench:l2 — logistic regression, the ${L2_GRID.length}-value L2 grid, rows streamed from a feature-store process, batch 32, standardized`);
  console.log(
    '\n| case | training + validation rows | epochs | one fit (s) | one by one (s) | together (s) | one by one / one fit | together / one fit | L2 chosen (one by one, together) | compute only: together / one fit |\n' +
      '|---|---|---|---|---|---|---|---|---|---|',
  );
  const figures: Array<{ name: string; oneFitS: number; oneByOneS: number; togetherS: number; computeOnly: { oneFitS: number; togetherS: number } }> = [];
  for (const c of selected) {
    const r = await measure(c);
    const fit = (r.oneFitS[0] + r.oneFitS[1]) / 2;
    console.log(
      `| ${r.name} (${c.dtype}) | ${c.trainingRows.toLocaleString('en-US')} + ${c.validationRows} | ${c.epochs} | ${fit.toFixed(1)} (${r.oneFitS.map((s) => s.toFixed(1)).join(', ')}) | ` +
        `${r.oneByOneS.toFixed(1)} | ${r.togetherS.toFixed(1)} | ${(r.oneByOneS / fit).toFixed(2)} | ${(r.togetherS / fit).toFixed(2)} | ${r.chosen.oneByOne}, ${r.chosen.together} | ` +
        `${(r.computeOnly.togetherS / r.computeOnly.oneFitS).toFixed(2)} (${r.computeOnly.togetherS.toFixed(1)} s / ${r.computeOnly.oneFitS.toFixed(1)} s) |`,
    );
    figures.push({ name: r.name, oneFitS: fit, oneByOneS: r.oneByOneS, togetherS: r.togetherS, computeOnly: r.computeOnly });
  }
  writeBenchJson(figures);
}

runBenchMain(main);
