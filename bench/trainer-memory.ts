/**
 * `npm run bench:trainer`: the trainer SERVICE's peak RSS and throughput when it trains on 1x and
 * on 10x as many stored vectors. Each size gets a fresh trainer process (peak RSS is per process),
 * beside a feature-store process serving the shards over NATS, as in a deployment: the trainer
 * holds no dataset, only the prefetched chunks and the shuffle buffer, so its memory must not
 * grow with the data (target: < 10% more at 10x).
 */
import { readFileSync } from 'node:fs';
import { connectBus, publish } from '@featx/bus';
import { createRunCommand } from '@featx/contracts';
import { launchServices, serviceInstances } from '../tools/service-launcher';
import { openBenchStack } from './bench-stack';

const DIM = Number(process.env.BENCH_DIM ?? 1280);
const BASE_ROWS = Number(process.env.BENCH_ROWS ?? 3068);
const EPOCHS = 2;
const CLASSES = ['dress', 'hat', 'longsleeve', 'outwear', 'pants', 'shirt', 'shoes', 'shorts', 'skirt', 't-shirt'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(scale: number) {
  const rows = BASE_ROWS * scale;
  const { featureSetId, namespace, db, env, close } = await openBenchStack('featx-trainer-bench-', {
    classes: CLASSES,
    dim: DIM,
    rows: { training: rows, validation: Math.round(rows / 9), evaluation: Math.round(rows / 8) },
    separable: true,
  });
  const services = launchServices(serviceInstances(1, 950).filter((i) => i.service === 'feature-store' || i.service === 'trainer'), env, (line) => /"level":"error"/.test(line) && console.error(line));
  const bus = await connectBus({ url: process.env.FEATX_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'bench-trainer', namespace });
  try {
    await services.ready(60000);
    await publish(bus, createRunCommand, { v: 1, featureSetId, head: 'mlp', dropout: 0, optimizer: 'sgd', learningRate: 0.001, momentum: 0.9, epochs: EPOCHS, batchSize: 32, classWeights: false, standardize: false, seed: 42, shuffleBuffer: 2048 });
    for (;;) {
      const run = (await db.query('SELECT id, status, error FROM training_runs')).rows[0];
      if (run && run.status !== 'queued' && run.status !== 'running') {
        if (run.status !== 'succeeded') throw new Error(`run ${run.status}: ${run.error}`);
        const { rows: epochs } = await db.query('SELECT rows_per_second FROM epoch_metrics WHERE run_id = $1 ORDER BY epoch', [run.id]);
        const pid = services.pids().trainer;
        const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
        return { rows, rowsPerSecond: Math.max(...epochs.map((e) => e.rows_per_second)), peakRssMiB: Math.round(kb / 1024) };
      }
      await sleep(200);
    }
  } finally {
    await services.stop(5000);
    await bus.nc.close();
    await close();
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

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
