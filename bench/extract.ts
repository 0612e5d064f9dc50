/**
 * `npm run bench:extract`: extraction throughput on this machine, in one run, on clothing-small photos,
 * for two networks (the shared MobileNetV2, and ResNet-50 with weights from a generated Keras-layout
 * .h5 file) on two engines (tfjs-wasm, ONNX Runtime):
 *   - the bare engine loop on pre-decoded, preprocessed batches,
 *   - the whole pipeline: work items → extractor(s) → feature store → NumPy shards,
 *     with 1 extractor, 2 extractors, and for ONNX Runtime 1 extractor × 2 threads vs 2 × 1 thread.
 * On ONNX Runtime each network also runs int8 (quantized, calibrated on 256 training photos) beside fp32,
 * and the tutorial MLP and logistic regression are trained on MobileNetV2's fp32 and int8 features of
 * all of clothing-small (BENCH_ACCURACY=false skips that part).
 * Prints images/s, the ratios the targets are stated in, each process's peak RSS, and for each
 * pipeline the CPU ms per image of its services (the measure a shared machine's load moves least).
 * Photos per run: BENCH_IMAGES (ONNX Runtime runs), BENCH_TFJS_IMAGES, BENCH_SLOW_IMAGES (see below);
 * BENCH_ROUNDS runs the fp32 and int8 pipelines in turns, BENCH_PIPELINES_ONLY=true only those.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import * as tf from '@tensorflow/tfjs';
import { connectBus, publish } from '@featx/bus';
import { Engine, EngineChoice, extractFeaturesCommand, Precision, registerDatasetCommand } from '@featx/contracts';
import { createEngineFeatureExtractor, type Int8Options } from '@featx/onnx';
import { decodeImage, loadFeatureNetwork, preprocessBatch, selectBackend } from '@featx/vision';
import { writeKerasH5 } from '../libs/vision/src/test-support/keras-h5-writer';
import { resnet50KerasLayout } from '../libs/vision/src/test-support/resnet50-keras-layout';
import { layersToWrite } from '../libs/vision/src/test-support/resnet50-test-weights';
import { createTestDatabase, SHARED_DIR, testNamespace, createTestBus } from '../test/support';
import { launchServices, serviceInstances } from '../tools/service-launcher';
import { runBenchMain } from './bench-main';
import { cpuSeconds, machineTicks, peakRssMiB } from './proc-stats';
import { evaluationAccuracy, type SplitSet } from './int8-accuracy';

/**
 * Photos per run. A pipeline's rate is read when work items complete, so a run needs many items
 * (30 of 64 images) to be accurate: 1,920 photos where the engine is fast, fewer where it is slow.
 */
const IMAGES = Number(process.env.BENCH_IMAGES ?? 1920);
/** MobileNetV2 on tfjs-wasm (15-30 img/s). */
const TFJS_IMAGES = Number(process.env.BENCH_TFJS_IMAGES ?? 960);
/** ResNet-50 on tfjs-wasm (~3 img/s): 192 photos in 8-image work items. */
const SLOW_IMAGES = Number(process.env.BENCH_SLOW_IMAGES ?? 192);
const SLOW_WORK_ITEM_IMAGES = 8;
/** Images per work item (featx extract --batch-size; default 64 as the command's). */
const WORK_ITEM_IMAGES = Number(process.env.BENCH_WORK_ITEM_IMAGES ?? 64);
/**
 * Rounds of the fp32 and int8 pipelines (2 extractors × 1 thread), taking turns (fp32 first in odd
 * rounds, int8 first in even ones), so that each int8 / fp32 ratio compares minutes of the same load.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
/** BENCH_PIPELINES_ONLY=true: on ONNX Runtime only the 2 extractors × 1 thread pipelines (no bare loops, no 1 × 2-thread pipeline). */
const OTHER_RUNS = process.env.BENCH_PIPELINES_ONLY !== 'true';
const MOBILENET = path.join(SHARED_DIR, 'models/mobilenet_v2_1.0_224');
const CLOTHING = path.join(SHARED_DIR, 'datasets/clothing-small');

interface Row {
  network: string;
  engine: EngineChoice;
  precision: Precision;
  run: string;
  /** Bare loops: the whole loop; pipelines: the steady state (10% → 90% of the set). */
  imagesPerSecond: number;
  /** Pipelines: from the first stored vector to the last. */
  firstToLast?: number;
  images: number;
  peakRssMiB: string;
  /** Pipelines: CPU ms per image of the services together (ingest, extractors, feature store), first to last vector. */
  cpuMsPerImage?: number;
  /** Pipelines run in rounds (BENCH_ROUNDS): which. */
  round?: number;
}

const rows: Row[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function manifest(count: number): Array<{ split: string; label: string; file: string }> {
  return readFileSync(path.join(CLOTHING, 'manifest.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1, count === Infinity ? undefined : count + 1)
    .map((line) => {
      const [split, label, file] = line.split(',');
      return { split, label, file: path.join(CLOTHING, file) };
    });
}

/** A data root with the first `count` photos linked in split/class layout. */
async function subsetFolder(root: string, count: number): Promise<string> {
  const dir = path.join(root, `set-${count}`);
  if (existsSync(dir)) return dir; // the same count asked for twice
  for (const { split, label, file } of manifest(count)) {
    await fs.mkdir(path.join(dir, split, label), { recursive: true });
    await fs.symlink(file, path.join(dir, split, label, path.basename(file)));
  }
  return dir;
}

/**
 * ResNet-50 (Keras layout, no top) with weights from a generated .h5 file, saved as a TF.js model
 * folder with a spec: a model folder the services load like any other.
 */
async function resnet50Folder(root: string): Promise<string> {
  const weightsPath = path.join(root, 'resnet50_generated_notop.h5');
  await writeKerasH5(weightsPath, layersToWrite(resnet50KerasLayout(false)));
  const network = await loadFeatureNetwork({ model: 'resnet50', weightsPath });
  const dir = path.join(root, 'resnet50-generated');
  mkdirSync(dir);
  await network.layersModel!.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData as ArrayBuffer | ArrayBuffer[]);
      writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(weightData));
      writeFileSync(
        path.join(dir, 'model.json'),
        JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  writeFileSync(
    path.join(dir, 'featx-model.json'),
    JSON.stringify({ format: 'layers', inputSize: 224, preprocessing: 'caffe', featureLayer: 'conv5_block3_out' }),
  );
  network.dispose();
  return dir;
}

/** int8 calibration as `featx extract --precision int8` does it: 256 training photos, 64 other ones held back. */
function int8Options(): Int8Options {
  const training = manifest(Infinity).filter((row) => row.split === 'training');
  const step = Math.floor(training.length / 320);
  const sample = training.filter((_, i) => i % step === 0).slice(0, 320);
  const decodeAll = (rows: typeof sample, size: [number, number]) => Promise.all(rows.map(({ file }) => decodeImage(file, { size })));
  return { calibrationImages: (size) => decodeAll(sample.slice(0, 256), size), heldBackImages: (size) => decodeAll(sample.slice(256), size) };
}

/**
 * The engine alone: pre-decoded, preprocessed batches of the engine's batch size, back to back.
 * `sessions` > 1 (ONNX Runtime): that many 1-thread sessions, each on its own worker thread, fed
 * in parallel: the bare counterpart of that many 1-thread extractor replicas.
 */
async function bareLoop(network: string, model: string, engine: Engine, count: number, cacheDir: string, sessions = 1, precision: Precision = 'fp32'): Promise<void> {
  const threads = sessions > 1 ? 1 : undefined;
  const extractors = [];
  for (let s = 0; s < sessions; s++) {
    const int8 = precision === 'int8' ? int8Options() : undefined;
    extractors.push(await createEngineFeatureExtractor({ model, pooling: 'avg', engine, precision, int8, onnx: { cacheDir, threads }, log: s === 0 && int8 ? (line) => console.log(`  ${line}`) : () => undefined }));
  }
  const [first] = extractors;
  const decoded = await Promise.all(manifest(count).map(({ file }) => decodeImage(file, { size: first!.inputSize })));
  const batches: tf.Tensor4D[] = [];
  for (let i = 0; i < decoded.length; i += first!.batchSize) batches.push(preprocessBatch(decoded.slice(i, i + first!.batchSize), first!.preprocessing));
  await Promise.all(extractors.map((e) => e.extract(batches[0]!))); // warm-up
  const started = process.hrtime.bigint();
  await Promise.all(
    extractors.map(async (extractor, s) => {
      for (let b = s; b < batches.length; b += sessions) await extractor.extract(batches[b]!);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  batches.forEach((b) => b.dispose());
  const layout = engine === 'onnx' ? (sessions > 1 ? `, ${sessions} sessions × 1 thread` : `, 1 session × ${os.availableParallelism()} threads`) : '';
  record({ network, engine, precision, run: `bare engine loop, batch ${first!.batchSize}${layout}`, imagesPerSecond: count / seconds, images: count, peakRssMiB: `${Math.round(process.memoryUsage().rss / 1048576)} (bench process)` });
  extractors.forEach((e) => e.dispose());
}

/**
 * fp32 and int8 sessions (1 × all threads each) taking turns batch by batch on the same batches:
 * the int8 / fp32 ratio of the bare engine with both under the same load, minute by minute (this
 * machine is shared, and the load moves between two runs made one after the other).
 */
async function interleavedBare(network: string, model: string, count: number, cacheDir: string): Promise<void> {
  const fp32 = await createEngineFeatureExtractor({ model, pooling: 'avg', engine: 'onnx', onnx: { cacheDir }, log: () => undefined });
  const int8 = await createEngineFeatureExtractor({ model, pooling: 'avg', engine: 'onnx', precision: 'int8', int8: int8Options(), onnx: { cacheDir }, log: () => undefined });
  const decoded = await Promise.all(manifest(count).map(({ file }) => decodeImage(file, { size: fp32.inputSize })));
  const batches: tf.Tensor4D[] = [];
  for (let i = 0; i < decoded.length; i += fp32.batchSize) batches.push(preprocessBatch(decoded.slice(i, i + fp32.batchSize), fp32.preprocessing));
  await fp32.extract(batches[0]!);
  await int8.extract(batches[0]!);
  const seconds = { fp32: 0, int8: 0 };
  for (const [b, batch] of batches.entries()) {
    // Alternate which goes first, so that neither always follows the other.
    for (const precision of b % 2 === 0 ? (['fp32', 'int8'] as const) : (['int8', 'fp32'] as const)) {
      const started = process.hrtime.bigint();
      await (precision === 'fp32' ? fp32 : int8).extract(batch);
      seconds[precision] += Number(process.hrtime.bigint() - started) / 1e9;
    }
  }
  batches.forEach((b) => b.dispose());
  [fp32, int8].forEach((e) => e.dispose());
  const [a, b] = [count / seconds.fp32, count / seconds.int8];
  interleaved.push(`  ${network} bare loop, fp32 and int8 batch by batch (1 session × ${os.availableParallelism()} threads each): fp32 ${a.toFixed(1)}, int8 ${b.toFixed(1)} img/s = ${(b / a).toFixed(2)}`);
  console.log(interleaved[interleaved.length - 1]);
}

const interleaved: string[] = [];

interface PipelineOptions {
  network: string;
  model: string;
  engine: Engine;
  precision?: Precision;
  folder: string;
  images: number;
  replicas: number;
  /** ONNX Runtime intra-op threads per extractor (default: the cores). */
  threads?: number;
  /** Images per work item; default WORK_ITEM_IMAGES. */
  workItemImages?: number;
  cacheDir: string;
  root: string;
  round?: number;
}

async function pipeline(o: PipelineOptions): Promise<void> {
  const database = await createTestDatabase({ migrate: false });
  const namespace = testNamespace();
  const instances = serviceInstances(o.replicas, 800).filter((i) => ['ingest', 'feature-store', 'extractor'].includes(i.service));
  const services = launchServices(
    instances,
    {
      ...process.env,
      FEATX_DATABASE_URL: database.url,
      FEATX_NAMESPACE: namespace,
      FEATX_DATA_ROOTS: `bench=${o.root},shared=${SHARED_DIR}`,
      FEATX_FEATURES_DIR: path.join(o.root, `features-${namespace}`),
      FEATX_TF_BACKEND: 'wasm',
      FEATX_ONNX_CACHE_DIR: o.cacheDir,
      ...(o.threads ? { FEATX_ONNX_THREADS: String(o.threads) } : {}),
      FEATX_LOG_LEVEL: 'warn',
    },
    (line) => /"level":"error"/.test(line) && console.error(line),
  );
  const db = new Client({ connectionString: database.url });
  const bus = await connectBus({ url: process.env.FEATX_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'bench', namespace });
  try {
    await services.ready(120000);
    await db.connect();
    await publish(bus, registerDatasetCommand, { v: 1, path: o.folder, layout: 'split-class', seed: 42 });
    let datasetId: string | undefined;
    while (!datasetId) {
      datasetId = (await db.query("SELECT id FROM datasets WHERE status = 'ready'")).rows[0]?.id;
      await sleep(100);
    }
    await publish(bus, extractFeaturesCommand, { v: 1, datasetId, model: o.model, pooling: 'avg', dtype: 'float32', engine: o.engine, precision: o.precision, batchSize: o.workItemImages ?? WORK_ITEM_IMAGES });
    // Two rates, neither counting network loading (and exporting): from the first stored vector to
    // the last, and the steady state between 10% and 90% of the set done (without the first work
    // items, and without the tail where replicas run out of work in turn — what a long run sees).
    let first: { at: number; done: number; cpu: Record<string, number>; ticks: [number, number] } | undefined;
    let from: { at: number; done: number } | undefined;
    let to: { at: number; done: number } | undefined;
    const cpuNow = () => Object.fromEntries(Object.entries(services.pids()).map(([label, pid]) => [label, cpuSeconds(pid)]));
    for (;;) {
      const set = (await db.query('SELECT stored, failed, images, status, error FROM feature_sets')).rows[0];
      if (!set) {
        const failed = (await db.query("SELECT error FROM commands WHERE type = 'features.extract' AND status = 'failed'")).rows[0];
        if (failed) throw new Error(`${o.network} on ${o.engine}: the extraction command failed: ${failed.error}`);
      }
      if (set?.status === 'failed') throw new Error(`${o.network} on ${o.engine}: ${set.error}`);
      const done = set ? set.stored + set.failed : 0;
      const now = Date.now();
      if (!first && done > 0) first = { at: now, done, cpu: cpuNow(), ticks: machineTicks() };
      if (!from && done >= 0.1 * o.images) from = { at: now, done };
      if (!to && done >= 0.9 * o.images) to = { at: now, done };
      if (set?.status === 'complete') {
        const seconds = (now - first!.at) / 1000;
        const cpu = cpuNow();
        const msPerImage = (label: string) => ((cpu[label]! - first!.cpu[label]!) * 1000) / (done - first!.done);
        const cpuMsPerImage = Object.keys(cpu).reduce((sum, label) => sum + msPerImage(label), 0);
        const perImage = `${Object.keys(cpu)
          .map((label) => `${label} ${msPerImage(label).toFixed(1)}`)
          .join(', ')}; all ${cpuMsPerImage.toFixed(1)}`;
        const [busy, idle] = machineTicks();
        const busyShare = (busy - first!.ticks[0]) / (busy - first!.ticks[0] + idle - first!.ticks[1]);
        console.log(`  CPU ms per image while measuring: ${perImage}; machine busy ${(busyShare * 100).toFixed(0)}%`);
        const rss = Object.entries(services.pids())
          .map(([label, pid]) => `${label} ${peakRssMiB(pid)}`)
          .join(', ');
        const layout = o.engine === 'onnx' ? ` × ${o.threads ?? os.availableParallelism()} thread${(o.threads ?? 2) > 1 ? 's' : ''}` : '';
        record({
          network: o.network,
          engine: o.engine,
          precision: o.precision ?? 'fp32',
          run: `pipeline, ${o.replicas} extractor${o.replicas > 1 ? 's' : ''}${layout}, ${o.workItemImages ?? WORK_ITEM_IMAGES}-image work items`,
          imagesPerSecond: ((to!.done - from!.done) * 1000) / (to!.at - from!.at),
          firstToLast: (done - first!.done) / seconds,
          images: o.images,
          peakRssMiB: rss,
          cpuMsPerImage,
          round: o.round,
        });
        return;
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

function record(row: Row): void {
  rows.push(row);
  const whole = row.firstToLast === undefined ? '' : `, first to last vector ${row.firstToLast.toFixed(1)}`;
  const round = row.round === undefined ? '' : ` [round ${row.round}]`;
  console.log(`${row.network} ${row.engine} ${row.precision}${round}: ${row.run}: ${row.imagesPerSecond.toFixed(1)} img/s${whole} (${row.images} photos; peak RSS MiB ${row.peakRssMiB})`);
}

function rate(network: string, engine: string, run: RegExp, precision: Precision = 'fp32'): number {
  const row = rows.find((r) => r.network === network && r.engine === engine && r.precision === precision && run.test(r.run));
  if (!row) throw new Error(`no ${network} ${engine} ${precision} ${run} row`);
  return row.imagesPerSecond;
}

/** int8 / fp32 in the same run, where both were measured. */
function printInt8Ratios(): void {
  const lines: string[] = [];
  for (const network of ['MobileNetV2', 'ResNet-50']) {
    for (const [label, run] of [
      ['bare loop, 1 session × 2 threads', /bare.*1 session/],
      ['bare loop, 2 sessions × 1 thread', /bare.*2 sessions/],
      ['pipeline, 2 extractors × 1 thread', /pipeline, 2 /],
    ] as const) {
      const pair = ['fp32', 'int8'].map((precision) => rows.find((r) => r.network === network && r.engine === 'onnx' && r.precision === precision && run.test(r.run)));
      if (pair[0] && pair[1]) {
        lines.push(`  ${network} ${label}: int8 ${pair[1].imagesPerSecond.toFixed(1)} / fp32 ${pair[0].imagesPerSecond.toFixed(1)} img/s = ${(pair[1].imagesPerSecond / pair[0].imagesPerSecond).toFixed(2)}`);
      }
    }
  }
  for (const network of ['MobileNetV2', 'ResNet-50']) {
    const pipelines = rows.filter((r) => r.network === network && r.engine === 'onnx' && r.round !== undefined);
    for (let round = 1; round <= ROUNDS; round++) {
      const [a, b] = (['fp32', 'int8'] as const).map((precision) => pipelines.find((r) => r.round === round && r.precision === precision));
      if (!a || !b) continue;
      lines.push(
        `  ${network} pipeline round ${round} (2 extractors × 1 thread): int8 ${b.imagesPerSecond.toFixed(1)} / fp32 ${a.imagesPerSecond.toFixed(1)} img/s = ${(b.imagesPerSecond / a.imagesPerSecond).toFixed(2)}; ` +
          `CPU ms per image (services) fp32 ${a.cpuMsPerImage!.toFixed(1)} / int8 ${b.cpuMsPerImage!.toFixed(1)} = ${(a.cpuMsPerImage! / b.cpuMsPerImage!).toFixed(2)}`,
      );
    }
  }
  lines.push(...interleaved);
  if (lines.length > 0) console.log(`\nint8 / fp32 (same run):\n${lines.join('\n')}`);
}

const accuracies: Array<{ precision: Precision; head: string; accuracy: number; l2?: number }> = [];

/** MobileNetV2 features of all of clothing-small in fp32 and int8, and the two heads' evaluation accuracy on each. */
async function accuracy(cacheDir: string): Promise<void> {
  const photos = manifest(Infinity);
  const classes = [...new Set(photos.map((p) => p.label))].sort();
  const open = (precision: Precision) =>
    createEngineFeatureExtractor({ model: MOBILENET, pooling: 'avg', engine: 'onnx', precision, int8: int8Options(), onnx: { cacheDir }, log: () => undefined });
  const extractors = { fp32: await open('fp32'), int8: await open('int8') };
  const splits = Object.fromEntries(
    (['fp32', 'int8'] as const).map((precision) => [precision, { training: [] as number[][], validation: [] as number[][], evaluation: [] as number[][] }]),
  );
  const labels = { training: [] as number[], validation: [] as number[], evaluation: [] as number[] };
  const started = Date.now();
  for (let start = 0; start < photos.length; start += 64) {
    const chunk = photos.slice(start, start + 64);
    const images = await Promise.all(chunk.map(({ file }) => decodeImage(file, { size: extractors.fp32.inputSize })));
    for (const precision of ['fp32', 'int8'] as const) {
      const extractor = extractors[precision];
      for (let b = 0; b < images.length; b += extractor.batchSize) {
        const { data, shape } = await extractor.extract(images.slice(b, b + extractor.batchSize));
        for (let i = 0; i < shape[0]; i++) {
          const split = chunk[b + i]!.split as keyof typeof labels;
          splits[precision]![split].push(Array.from(data.subarray(i * shape[1], (i + 1) * shape[1])));
        }
      }
    }
    for (const { split, label } of chunk) labels[split as keyof typeof labels].push(classes.indexOf(label));
    if (start % 640 === 0) console.log(`  accuracy features: ${start + chunk.length}/${photos.length} photos, ${Math.round((Date.now() - started) / 1000)} s`);
  }
  const parity = extractors.int8.quantization?.parity;
  if (parity) console.log(`  MobileNetV2 int8 parity at quantization: mean cosine ${parity.meanCosine.toFixed(5)}, min ${parity.minCosine.toFixed(5)} on ${parity.images} held-back photos`);
  Object.values(extractors).forEach((e) => e.dispose());
  for (const precision of ['fp32', 'int8'] as const) {
    const set = Object.fromEntries(
      (['training', 'validation', 'evaluation'] as const).map((split) => {
        const vectors = splits[precision]![split];
        const features = new Float32Array(vectors.length * (vectors[0]?.length ?? 0));
        vectors.forEach((v, i) => features.set(v, i * v.length));
        return [split, { features, labels: Int32Array.from(labels[split]), rows: vectors.length }];
      }),
    ) as unknown as SplitSet;
    for (const head of ['mlp', 'logistic'] as const) {
      const result = evaluationAccuracy(head, set, classes.length);
      accuracies.push({ precision, head, ...result });
      console.log(`MobileNetV2 ${precision} features: ${head} evaluation accuracy ${(result.accuracy * 100).toFixed(2)}%${result.l2 === undefined ? '' : ` (L2 ${result.l2})`}`);
    }
  }
}

/** BENCH_ONLY (a regular expression on "<network> <engine>", e.g. "ResNet-50 onnx") runs part of the benchmark. */
const only = new RegExp(process.env.BENCH_ONLY ?? '.');

async function main() {
  await selectBackend('wasm', { log: () => undefined });
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-bench-')));
  const cacheDir = path.join(root, 'onnx-cache');
  try {
    console.log(`bench:extract — clothing-small photos, avg pooling, ${os.cpus().length} cores (${os.cpus()[0]?.model})`);
    const folder = await subsetFolder(root, IMAGES);
    const tfjsFolder = await subsetFolder(root, TFJS_IMAGES);
    const slowFolder = await subsetFolder(root, SLOW_IMAGES);
    const resnet = await resnet50Folder(root);
    const mobile = 'MobileNetV2';
    const res = 'ResNet-50';
    const common = { cacheDir, root };

    if (only.test(`${mobile} tfjs`)) {
      await bareLoop(mobile, MOBILENET, 'tfjs', TFJS_IMAGES, cacheDir);
      await pipeline({ ...common, network: mobile, model: MOBILENET, engine: 'tfjs', folder: tfjsFolder, images: TFJS_IMAGES, replicas: 1 });
      await pipeline({ ...common, network: mobile, model: MOBILENET, engine: 'tfjs', folder: tfjsFolder, images: TFJS_IMAGES, replicas: 2 });
    }
    for (const [network, model] of [[mobile, MOBILENET], [res, resnet]] as const) {
      const fp32 = only.test(`${network} onnx fp32`);
      const int8 = only.test(`${network} onnx int8`);
      if (network === res && only.test(`${res} tfjs`)) {
        await bareLoop(res, resnet, 'tfjs', SLOW_IMAGES, cacheDir);
        await pipeline({ ...common, network: res, model: resnet, engine: 'tfjs', folder: slowFolder, images: SLOW_IMAGES, replicas: 1, workItemImages: SLOW_WORK_ITEM_IMAGES });
      }
      // fp32 and int8 side by side, so that each ratio compares minutes of the same machine load.
      for (const sessions of OTHER_RUNS ? [1, 2] : []) {
        if (fp32) await bareLoop(network, model, 'onnx', IMAGES, cacheDir, sessions);
        if (int8) await bareLoop(network, model, 'onnx', IMAGES, cacheDir, sessions, 'int8');
      }
      if (OTHER_RUNS && fp32 && int8) await interleavedBare(network, model, Math.min(IMAGES, 960), cacheDir);
      if (OTHER_RUNS && fp32) await pipeline({ ...common, network, model, engine: 'onnx', folder, images: IMAGES, replicas: 1 });
      for (let round = 1; round <= ROUNDS; round++) {
        const order = round % 2 === 1 ? (['fp32', 'int8'] as const) : (['int8', 'fp32'] as const);
        for (const precision of order.filter((p) => (p === 'fp32' ? fp32 : int8))) {
          await pipeline({ ...common, network, model, engine: 'onnx', precision, folder, images: IMAGES, replicas: 2, threads: 1, round });
        }
      }
    }
    if (only.test('MobileNetV2 accuracy') && process.env.BENCH_ACCURACY !== 'false') await accuracy(cacheDir);

    console.log('\n| network | engine | precision | run | photos | img/s (steady) | img/s (first to last) | CPU ms per image (services) | peak RSS (MiB) |\n|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const run = r.round === undefined ? r.run : `${r.run} (round ${r.round})`;
      console.log(`| ${r.network} | ${r.engine} | ${r.precision} | ${run} | ${r.images} | ${r.imagesPerSecond.toFixed(1)} | ${r.firstToLast?.toFixed(1) ?? '—'} | ${r.cpuMsPerImage?.toFixed(1) ?? '—'} | ${r.peakRssMiB} |`);
    }
    printInt8Ratios();
    if (accuracies.length > 0) {
      console.log('\n| features (MobileNetV2, avg) | head | evaluation accuracy | L2 chosen |\n|---|---|---|---|');
      for (const a of accuracies) console.log(`| ${a.precision} | ${a.head} | ${(a.accuracy * 100).toFixed(2)}% | ${a.l2 ?? '—'} |`);
    }

    if (rows.filter((r) => r.precision === 'fp32').length < 13) return; // part of the benchmark (BENCH_ONLY): no ratios
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    const mTfjs1 = rate(mobile, 'tfjs', /pipeline, 1 /);
    const mTfjs2 = rate(mobile, 'tfjs', /pipeline, 2 /);
    const mOnnx1 = rate(mobile, 'onnx', /pipeline, 1 /);
    const mOnnx2 = rate(mobile, 'onnx', /pipeline, 2 /);
    const rBare = rate(res, 'onnx', /bare.*1 session/);
    const rBare2 = rate(res, 'onnx', /bare.*2 sessions/);
    const rOnnx1 = rate(res, 'onnx', /pipeline, 1 /);
    const rOnnx2 = rate(res, 'onnx', /pipeline, 2 /);
    console.log('\nratios:');
    console.log(`  MobileNetV2 tfjs: pipeline 1 extractor / bare loop = ${ratio(mTfjs1, rate(mobile, 'tfjs', /bare/))}; 2 extractors / 1 = ${ratio(mTfjs2, mTfjs1)}`);
    console.log(`  MobileNetV2 onnx pipeline (1 × 2 threads) / tfjs pipeline (1 extractor) = ${ratio(mOnnx1, mTfjs1)}; / tfjs with 2 extractors = ${ratio(mOnnx1, mTfjs2)}`);
    console.log(`  MobileNetV2 onnx: 1 extractor × 2 threads ${mOnnx1.toFixed(1)} vs 2 extractors × 1 thread ${mOnnx2.toFixed(1)} img/s; the latter / tfjs pipeline (2 extractors) = ${ratio(mOnnx2, mTfjs2)}`);
    console.log(
      `  ResNet-50 onnx pipeline: 1 extractor × 2 threads ${rOnnx1.toFixed(1)} img/s = ${ratio(rOnnx1, rBare)} of the bare loop in that layout (1 session × 2 threads); ` +
        `2 extractors × 1 thread ${rOnnx2.toFixed(1)} img/s = ${ratio(rOnnx2, rBare2)} of the bare loop in that layout (2 sessions × 1 thread), ` +
        `${ratio(rOnnx2, Math.max(rBare, rBare2))} of the faster bare loop`,
    );
    console.log(`  ResNet-50 onnx bare loop / tfjs bare loop = ${ratio(Math.max(rBare, rBare2), rate(res, 'tfjs', /bare/))}`);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

runBenchMain(main);
