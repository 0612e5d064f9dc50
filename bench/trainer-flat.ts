/**
 * The trainer SERVICE end to end at the tutorial's size: the 100352-256-16-N MLP (batch 32, the
 * tutorial's SGD) on a float16 feature set of 100,352 values a row, 20,000 training rows by
 * default, stored by the feature store's own writer and served by a feature-store process, the
 * trainer in its own process as in a deployment. One epoch per variant (how the trainer reads,
 * which engine runs the heads), each with fresh processes so that each peak RSS is its own.
 *
 *   node -r ./tools/register.js bench/trainer-flat.ts
 *   BENCH_ROWS=4000 BENCH_VARIANTS=bus/auto,direct/tfjs …   fewer rows, chosen variants (read/engine)
 *   BENCH_VARIANTS=bus/auto/8,bus/auto/16 …                 …and the trainer's read-ahead (MiB) per variant
 *   BENCH_HEAD=logistic BENCH_DIM=62720 …                   another head or row size
 *   BENCH_JSON=out.json …                                   the figures as JSON too (bench/train.ts)
 */
import { openBenchStack } from './bench-stack';
import { writeBenchJson } from './bench-json';
import { BenchRunResult, benchTrainerRun } from './trainer-run';
import { runBenchMain } from './bench-main';

const DIM = Number(process.env.BENCH_DIM ?? 100352);
const HEAD = (process.env.BENCH_HEAD ?? 'mlp') as 'mlp' | 'logistic';
const ROWS = Number(process.env.BENCH_ROWS ?? 20000);
const CLASSES = ['food', 'non-food'];
const VARIANTS = (process.env.BENCH_VARIANTS ?? 'bus/auto,direct/auto').split(',').map((v) => {
  const [read, engine, readAheadMiB] = v.split('/');
  return { read, engine, readAheadMiB };
});

export interface FlatTrainerFigures {
  head: string;
  dim: number;
  rows: number;
  variants: Array<{ read: string; engine: string; readAheadMiB?: string } & BenchRunResult>;
}

async function main() {
  console.log(`trainer service end to end: ${HEAD === 'mlp' ? `MLP ${DIM}-256-16-${CLASSES.length}` : `logistic ${DIM}-${CLASSES.length}`} on ${ROWS} float16 rows from a feature-store process, 1 epoch, batch 32`);
  const started = Date.now();
  const stack = await openBenchStack('featx-trainer-flat-', {
    classes: CLASSES,
    dim: DIM,
    dtype: 'float16',
    rows: { training: ROWS, validation: Math.round(ROWS / 20), evaluation: Math.round(ROWS / 20) },
    separable: true,
  });
  console.log(`feature set written in ${((Date.now() - started) / 1000).toFixed(0)} s (${((ROWS * 1.1 * DIM * 2) / 1e9).toFixed(1)} GB)`);
  const figures: FlatTrainerFigures = { head: HEAD, dim: DIM, rows: ROWS, variants: [] };
  try {
    for (const { read, engine, readAheadMiB } of VARIANTS) {
      const result = await benchTrainerRun(
        stack,
        { head: HEAD, dropout: 0, l2: 0, optimizer: 'sgd', learningRate: 0.01, momentum: 0.9, epochs: 1, batchSize: 32, classWeights: false, standardize: false, normalize: 'none', seed: 42, shuffleBuffer: 2048 },
        { FEATX_TRAINER_READ: read, FEATX_TRAINER_ENGINE: engine, ...(readAheadMiB ? { FEATX_TRAINER_READ_AHEAD_MB: readAheadMiB } : {}) },
        ROWS,
      );
      figures.variants.push({ read, engine, readAheadMiB, ...result });
      console.log(`${read}/${engine}${readAheadMiB ? `/${readAheadMiB} MiB` : ''}: ${result.bestEpochRowsPerSecond.toFixed(0)} rows/s (epoch), whole run ${result.wallSeconds.toFixed(1)} s, accuracy ${result.evaluationAccuracy}, peak RSS trainer ${result.peakRssMiB.trainer} MiB, store ${result.peakRssMiB.featureStore} MiB`);
    }
  } finally {
    await stack.close();
  }
  console.log('\n| reads | engine | read-ahead (MiB) | rows/s (training epoch) | whole run (s) | trainer peak RSS (MiB) | feature-store peak RSS (MiB) |\n|---|---|---|---|---|---|---|');
  for (const v of figures.variants) console.log(`| ${v.read} | ${v.engine} | ${v.readAheadMiB ?? 'default'} | ${v.bestEpochRowsPerSecond.toFixed(0)} | ${v.wallSeconds.toFixed(1)} | ${v.peakRssMiB.trainer} | ${v.peakRssMiB.featureStore} |`);
  writeBenchJson(figures);
}

runBenchMain(main);
