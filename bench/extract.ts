/**
 * `npm run bench:extract`: extraction throughput on this machine, in one run, on the same images
 * and backend (the shared MobileNetV2, avg pooling, tfjs wasm):
 *   (a) the bare network loop on pre-decoded tensors,
 *   (b) the whole pipeline: work items → extractor → feature store → NumPy shards,
 *   (c) the pipeline with 2 extractor replicas.
 * Prints images/s, the ratios (b)/(a) and (c)/(b), and the peak RSS of each process.
 */
import { readFileSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { connectBus, publish } from '@featx/bus';
import { extractFeaturesCommand, registerDatasetCommand } from '@featx/contracts';
import { createFeatureExtractor, decodeImage, preprocessBatch } from '@featx/vision';
import * as tf from '@tensorflow/tfjs';
import { createTestDatabase, SHARED_DIR, testNamespace, createTestBus } from '../test/support';
import { launchServices, serviceInstances } from '../tools/service-launcher';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 480);
const MODEL_DIR = path.join(SHARED_DIR, 'models/mobilenet_v2_1.0_224');
const CLOTHING = path.join(SHARED_DIR, 'datasets/clothing-small');
const BATCH = 8;

interface PipelineResult {
  imagesPerSecond: number;
  peakRssMiB: Record<string, number>;
}

async function subsetFolder(): Promise<string> {
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-bench-')));
  const manifest = readFileSync(path.join(CLOTHING, 'manifest.csv'), 'utf8').trim().split('\n').slice(1);
  for (const line of manifest.slice(0, IMAGES)) {
    const [split, label, file] = line.split(',');
    await fs.mkdir(path.join(root, 'set', split, label), { recursive: true });
    await fs.symlink(path.join(CLOTHING, file), path.join(root, 'set', split, label, path.basename(file)));
  }
  return root;
}

async function bareLoop(files: string[]): Promise<number> {
  const extractor = await createFeatureExtractor({ model: MODEL_DIR, pooling: 'avg', backend: 'wasm', log: () => undefined });
  const decoded = await Promise.all(files.map((file) => decodeImage(file, { size: extractor.inputSize })));
  const batches: tf.Tensor4D[] = [];
  for (let i = 0; i < decoded.length; i += BATCH) batches.push(preprocessBatch(decoded.slice(i, i + BATCH), extractor.preprocessing));
  await extractor.extract(batches[0]); // warm-up
  const started = process.hrtime.bigint();
  for (const batch of batches) await extractor.extract(batch);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  batches.forEach((b) => b.dispose());
  extractor.dispose();
  return files.length / seconds;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function pipeline(root: string, replicas: number): Promise<PipelineResult> {
  const database = await createTestDatabase({ migrate: false });
  const namespace = testNamespace();
  const featuresDir = path.join(root, `features-${replicas}`);
  const instances = serviceInstances(replicas, 800).filter((i) => ['ingest', 'feature-store', 'extractor'].includes(i.service));
  const services = launchServices(
    instances,
    { ...process.env, FEATX_DATABASE_URL: database.url, FEATX_NAMESPACE: namespace, FEATX_DATA_ROOTS: `bench=${root},shared=${SHARED_DIR}`, FEATX_FEATURES_DIR: featuresDir, FEATX_TF_BACKEND: 'wasm', FEATX_LOG_LEVEL: 'warn' },
    (line) => /"level":"error"/.test(line) && console.error(line),
  );
  const db = new Client({ connectionString: database.url });
  const bus = await connectBus({ url: process.env.FEATX_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'bench', namespace });
  try {
    await services.ready(120000);
    await db.connect();
    await publish(bus, registerDatasetCommand, { v: 1, path: path.join(root, 'set'), layout: 'split-class', seed: 42 });
    let datasetId: string | undefined;
    while (!datasetId) {
      datasetId = (await db.query("SELECT id FROM datasets WHERE status = 'ready'")).rows[0]?.id;
      await sleep(100);
    }
    await publish(bus, extractFeaturesCommand, { v: 1, datasetId, model: MODEL_DIR, pooling: 'avg', dtype: 'float32', batchSize: 16 });
    // Throughput from the first stored vector to the last: network loading is not counted.
    let first: { at: number; done: number } | undefined;
    for (;;) {
      const set = (await db.query('SELECT stored, failed, images, status FROM feature_sets')).rows[0];
      const done = set ? set.stored + set.failed : 0;
      if (!first && done > 0) first = { at: Date.now(), done };
      if (set?.status === 'complete') {
        const seconds = (Date.now() - first!.at) / 1000;
        const pids = services.pids();
        return {
          imagesPerSecond: (done - first!.done) / seconds,
          peakRssMiB: Object.fromEntries(Object.entries(pids).map(([label, pid]) => [label, peakRssMiB(pid)])),
        };
      }
      await sleep(50);
    }
  } finally {
    await services.stop(5000);
    await bus.nc.close();
    await db.end().catch(() => undefined);
    await database.drop();
    await (await createTestBus(namespace)).cleanup();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const root = await subsetFolder();
  try {
    const files = readFileSync(path.join(CLOTHING, 'manifest.csv'), 'utf8').trim().split('\n').slice(1, IMAGES + 1).map((l) => path.join(CLOTHING, l.split(',')[2]));
    console.log(`bench:extract — ${IMAGES} clothing-small photos, shared MobileNetV2 (avg pooling → 1,280), tfjs wasm, ${os.cpus().length} cores`);
    const bare = await bareLoop(files);
    console.log(`(a) bare network loop: ${bare.toFixed(1)} img/s`);
    const one = await pipeline(root, 1);
    console.log(`(b) pipeline, 1 extractor: ${one.imagesPerSecond.toFixed(1)} img/s`, one.peakRssMiB);
    const two = await pipeline(root, 2);
    console.log(`(c) pipeline, 2 extractors: ${two.imagesPerSecond.toFixed(1)} img/s`, two.peakRssMiB);
    const rss = (r: PipelineResult) => Object.entries(r.peakRssMiB).map(([k, v]) => `${k} ${v}`).join(', ');
    console.log('\n| run | img/s | ratio | peak RSS (MiB) |\n|---|---|---|---|');
    console.log(`| (a) bare network loop, batch ${BATCH} | ${bare.toFixed(1)} | — | ${Math.round(process.memoryUsage().rss / 1048576)} (bench process) |`);
    console.log(`| (b) pipeline, 1 extractor | ${one.imagesPerSecond.toFixed(1)} | (b)/(a) = ${(one.imagesPerSecond / bare).toFixed(2)} | ${rss(one)} |`);
    console.log(`| (c) pipeline, 2 extractors | ${two.imagesPerSecond.toFixed(1)} | (c)/(b) = ${(two.imagesPerSecond / one.imagesPerSecond).toFixed(2)} | ${rss(two)} |`);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
