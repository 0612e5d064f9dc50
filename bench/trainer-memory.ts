/**
 * `npm run bench:trainer`: the trainer SERVICE's peak RSS and throughput when it trains on 1x and
 * on 10x as many stored vectors. Each size gets a fresh trainer process (peak RSS is per process),
 * beside a feature-store process serving the shards over NATS, as in a deployment: the trainer
 * holds no dataset, only the prefetched chunks and the shuffle buffer, so its memory must not
 * grow with the data (target: < 10% more at 10x).
 */
import { openBenchStack } from './bench-stack';
import { benchTrainerRun } from './trainer-run';
import { runBenchMain } from './bench-main';

const DIM = Number(process.env.BENCH_DIM ?? 1280);
const BASE_ROWS = Number(process.env.BENCH_ROWS ?? 3068);
const EPOCHS = 2;
const CLASSES = ['dress', 'hat', 'longsleeve', 'outwear', 'pants', 'shirt', 'shoes', 'shorts', 'skirt', 't-shirt'];

async function measure(scale: number) {
  const rows = BASE_ROWS * scale;
  const stack = await openBenchStack('featx-trainer-bench-', {
    classes: CLASSES,
    dim: DIM,
    rows: { training: rows, validation: Math.round(rows / 9), evaluation: Math.round(rows / 8) },
    separable: true,
  });
  try {
    const run = await benchTrainerRun(stack, { head: 'mlp', dropout: 0, optimizer: 'sgd', learningRate: 0.001, momentum: 0.9, epochs: EPOCHS, batchSize: 32, classWeights: false, standardize: false, normalize: 'none', seed: 42, shuffleBuffer: 2048 });
    return { rows, rowsPerSecond: run.bestEpochRowsPerSecond, peakRssMiB: run.peakRssMiB.trainer };
  } finally {
    await stack.close();
  }
}

async function main() {
  console.log(`bench:trainer — trainer service, MLP on ${DIM}-value vectors streamed from the feature store, ${EPOCHS} epochs`);
  const one = await measure(1);
  const ten = await measure(10);
  console.log('\n| data | training rows | rows/s (best epoch) | trainer peak RSS (MiB) |\n|---|---|---|---|');
  console.log(`| 1x | ${one.rows} | ${Math.round(one.rowsPerSecond)} | ${one.peakRssMiB} |`);
  console.log(`| 10x | ${ten.rows} | ${Math.round(ten.rowsPerSecond)} | ${ten.peakRssMiB} (${(((ten.peakRssMiB - one.peakRssMiB) / one.peakRssMiB) * 100).toFixed(1)}%) |`);
}

runBenchMain(main);
