/**
 * `npm run bench:train`: how fast @featx/learning trains classifier heads on this machine (TF.js
 * wasm), and whether memory stays flat as the data grows. For pooled features (1,280 MobileNetV2,
 * 2,048 ResNet-50) and flattened ResNet-50 features (100,352), at 1x and 10x data, one epoch of
 * batch 32 with the tutorial's SGD; plus, for reference, the same 100352-256-16-2 network trained
 * the Keras way (tf.layers + trainOnBatch).
 *
 * Batches are generated on the fly from a seeded generator, a fresh array per batch as the
 * trainer's stream delivers them, so no dataset sits in memory: peak RSS should not grow with the
 * data. Each case runs in its own process so that its peak RSS (VmHWM) is its own.
 *
 *   node -r ./tools/register.js bench/train.ts            all cases, then a markdown table
 *   BENCH_CASES=flat node -r ./tools/register.js bench/train.ts   only cases whose name contains "flat"
 *   BENCH_CASES=engines …                                           only the engine table (bench/train-engines.ts)
 *
 * Then, each in processes of its own: the engines against this machine's GEMM rate and memory
 * bandwidth (bench/train-engines.ts), the trainer's read path (bench/read-path.ts), the five-
 * candidate L2 search (bench/l2-search.ts) and the trainer service end to end on 100,352-value
 * float16 rows (bench/trainer-flat.ts); last, one summary table of the figures the training-speed
 * targets are about. BENCH_CASES=engines|read|l2|trainer runs one of these alone.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { FeatureBatch, HeadEngine, HeadSpec, OptimizerSpec, TUTORIAL_SGD, createHead, trainEpoch } from '@featx/learning';
import { selectBackend } from '@featx/vision';
import { denseAddonStatus } from '../libs/learning/src/onednn/dense-addon';
import { peakRssMiB } from './proc-stats';
import type { EngineFigures } from './train-engines';
import type { ReadPathMeasurement } from './read-path';
import { DEFAULT_READ_AHEAD_BYTES } from '../apps/trainer/src/data/feature-stream';
import type { FlatTrainerFigures } from './trainer-flat';

interface BenchCase {
  name: string;
  features: string;
  inputDim: number;
  classes: number;
  kind: HeadSpec['kind'] | 'keras-trainOnBatch';
  optimizer: OptimizerSpec;
  scale: '1x' | '10x';
  rows: number;
  /** Default 'tfjs'. */
  engine?: HeadEngine;
}

interface BenchResult {
  name: string;
  hidden: number[];
  rows: number;
  /** Rows over the whole epoch's wall time, generating the batches included. */
  epochRowsPerSecond: number;
  /** Rows over the time spent in trainBatch only. */
  trainRowsPerSecond: number;
  loss: number;
  accuracy: number;
  peakRssMiB: number;
}

const BATCH = 32;
/** clothing-small's training split: 3,068 images. */
const POOLED_ROWS = 3068;
/** Flattened rows are 400 KB each; 320 keeps the 10x case to a few minutes. */
const FLAT_ROWS = 320;

const CASES: BenchCase[] = [
  ...(['1x', '10x'] as const).flatMap((scale): BenchCase[] => {
    const times = scale === '1x' ? 1 : 10;
    return [
      { name: `pooled-1280 mlp ${scale}`, features: 'MobileNetV2 avg', inputDim: 1280, classes: 10, kind: 'mlp', optimizer: TUTORIAL_SGD, scale, rows: POOLED_ROWS * times },
      { name: `pooled-2048 mlp ${scale}`, features: 'ResNet-50 avg', inputDim: 2048, classes: 10, kind: 'mlp', optimizer: TUTORIAL_SGD, scale, rows: POOLED_ROWS * times },
      { name: `pooled-2048 logistic ${scale}`, features: 'ResNet-50 avg', inputDim: 2048, classes: 10, kind: 'logistic', optimizer: TUTORIAL_SGD, scale, rows: POOLED_ROWS * times },
      { name: `flat-100352 mlp ${scale}`, features: 'ResNet-50 flattened', inputDim: 100352, classes: 2, kind: 'mlp', optimizer: TUTORIAL_SGD, scale, rows: FLAT_ROWS * times },
    ];
  }),
  { name: 'flat-100352 mlp 1x onnx', features: 'ResNet-50 flattened', inputDim: 100352, classes: 2, kind: 'mlp', optimizer: TUTORIAL_SGD, scale: '1x', rows: FLAT_ROWS, engine: 'onnx' },
  { name: 'flat-100352 mlp 1x onednn', features: 'ResNet-50 flattened', inputDim: 100352, classes: 2, kind: 'mlp', optimizer: TUTORIAL_SGD, scale: '1x', rows: FLAT_ROWS, engine: 'onednn' },
  { name: 'flat-100352 mlp 10x onednn', features: 'ResNet-50 flattened', inputDim: 100352, classes: 2, kind: 'mlp', optimizer: TUTORIAL_SGD, scale: '10x', rows: FLAT_ROWS * 10, engine: 'onednn' },
  { name: 'flat-100352 mlp adam 1x onednn', features: 'ResNet-50 flattened', inputDim: 100352, classes: 2, kind: 'mlp', optimizer: { kind: 'adam', learningRate: 1e-3 }, scale: '1x', rows: FLAT_ROWS, engine: 'onednn' },
  { name: 'flat-100352 mlp adam 1x', features: 'ResNet-50 flattened', inputDim: 100352, classes: 2, kind: 'mlp', optimizer: { kind: 'adam', learningRate: 1e-3 }, scale: '1x', rows: FLAT_ROWS },
  { name: 'flat-100352 keras-trainOnBatch', features: 'ResNet-50 flattened', inputDim: 100352, classes: 2, kind: 'keras-trainOnBatch', optimizer: TUTORIAL_SGD, scale: '1x', rows: 160 },
];

/**
 * One class centre per label and uniform noise around it, drawn batch by batch from a seeded
 * mulberry32 stream: cheap enough (no transcendental functions) not to dominate the measurement.
 */
async function* generatedBatches(rows: number, dim: number, classes: number, seed: number): AsyncGenerator<FeatureBatch> {
  let state = seed >>> 0;
  const imul = Math.imul;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = imul(state ^ (state >>> 15), 1 | state);
    t = (t + imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const centres = Array.from({ length: classes }, () => Float32Array.from({ length: dim }, () => random() * 2));
  for (let start = 0; start < rows; start += BATCH) {
    const count = Math.min(BATCH, rows - start);
    const features = new Float32Array(count * dim);
    const labels = new Int32Array(count);
    for (let r = 0; r < count; r++) {
      const label = Math.floor(random() * classes);
      labels[r] = label;
      const centre = centres[label];
      for (let d = 0; d < dim; d++) features[r * dim + d] = centre[d] + random() * 4 - 2;
    }
    yield { features, labels, rows: count };
  }
}

async function runCase(c: BenchCase): Promise<BenchResult> {
  await selectBackend('wasm', { log: () => undefined });
  if (c.kind === 'keras-trainOnBatch') return runKerasBaseline(c);
  const head = createHead({ kind: c.kind, inputDim: c.inputDim, classes: c.classes }, 42, c.optimizer, undefined, { engine: c.engine });
  // Two warm-up steps, not counted: the wasm heap grows to its working size, and the optimizer
  // slots get their pages (the onednn engine writes them first in the second step).
  for await (const batch of generatedBatches(2 * BATCH, c.inputDim, c.classes, 7)) head.trainBatch(batch.features, batch.labels);
  const epoch = await trainEpoch(head, generatedBatches(c.rows, c.inputDim, c.classes, 1), { batchSize: BATCH });
  head.dispose();
  return {
    name: c.name,
    hidden: head.spec.hidden,
    rows: epoch.rows,
    epochRowsPerSecond: epoch.rowsPerSecond,
    trainRowsPerSecond: (epoch.rows * 1000) / epoch.trainMs,
    loss: epoch.loss,
    accuracy: epoch.accuracy,
    peakRssMiB: peakRssMiB(process.pid),
  };
}

/** The tutorial's model as Keras would train it: Dense layers, tf.train.momentum, trainOnBatch. */
async function runKerasBaseline(c: BenchCase): Promise<BenchResult> {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 256, activation: 'relu', inputShape: [c.inputDim] }),
      tf.layers.dense({ units: 16, activation: 'relu' }),
      tf.layers.dense({ units: c.classes, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.momentum(1e-3, 0.9), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const step = async (batch: FeatureBatch) => {
    const [x, y] = tf.tidy(() => [tf.tensor2d(batch.features, [batch.rows, c.inputDim]), tf.oneHot(tf.tensor1d(batch.labels, 'int32'), c.classes)]);
    const [loss, accuracy] = (await model.trainOnBatch(x, y)) as number[];
    tf.dispose([x, y]);
    return { loss, accuracy };
  };
  for await (const batch of generatedBatches(BATCH, c.inputDim, c.classes, 7)) await step(batch);
  let rows = 0;
  let trainMs = 0;
  let lossSum = 0;
  let accuracySum = 0;
  const started = performance.now();
  for await (const batch of generatedBatches(c.rows, c.inputDim, c.classes, 1)) {
    const before = performance.now();
    const { loss, accuracy } = await step(batch);
    trainMs += performance.now() - before;
    rows += batch.rows;
    lossSum += loss * batch.rows;
    accuracySum += accuracy * batch.rows;
  }
  const elapsed = performance.now() - started;
  model.dispose();
  return {
    name: c.name,
    hidden: [256, 16],
    rows,
    epochRowsPerSecond: (rows * 1000) / elapsed,
    trainRowsPerSecond: (rows * 1000) / trainMs,
    loss: lossSum / rows,
    accuracy: accuracySum / rows,
    peakRssMiB: peakRssMiB(process.pid),
  };
}

async function main(): Promise<void> {
  const childIndex = process.argv.indexOf('--case');
  if (childIndex >= 0) {
    const c = CASES.find((candidate) => candidate.name === process.argv[childIndex + 1]);
    if (!c) throw new Error(`unknown case ${process.argv[childIndex + 1]}`);
    process.stdout.write(`${JSON.stringify(await runCase(c))}\n`);
    return;
  }

  const filter = process.env.BENCH_CASES;
  const native = denseAddonStatus();
  if (!native.available) console.error(`onednn cases skipped: ${native.reason}`);
  const selected = CASES.filter((c) => (!filter || c.name.includes(filter)) && (c.engine !== 'onednn' || native.available));
  const register = path.join(__dirname, '..', 'tools', 'register.js');
  const run = promisify(execFile);
  console.log(`| case | features | head | rows | rows/s (epoch, data generation included) | rows/s (trainBatch only) | train loss / acc | peak RSS (MiB) |`);
  console.log(`|---|---|---|---|---|---|---|---|`);
  for (const c of selected) {
    const { stdout } = await run(process.execPath, ['-r', register, __filename, '--case', c.name], { maxBuffer: 1 << 20, env: process.env });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as BenchResult;
    const units = [c.inputDim, ...result.hidden, c.classes].join('-');
    const head = `${c.kind === 'keras-trainOnBatch' ? 'Keras-style tf.layers' : c.kind} ${units}, ${c.optimizer.kind}${c.engine ? `, ${c.engine}` : ''}`;
    console.log(
      `| ${c.name} | ${c.features} | ${head} | ${result.rows.toLocaleString('en-US')} | ${Math.round(result.epochRowsPerSecond).toLocaleString('en-US')} | ` +
        `${Math.round(result.trainRowsPerSecond).toLocaleString('en-US')} | ${result.loss.toFixed(3)} / ${result.accuracy.toFixed(3)} | ${result.peakRssMiB} |`,
    );
  }
  const figures: Partial<SummaryFigures> = {};
  const folder = mkdtempSync(path.join(os.tmpdir(), 'featx-bench-train-'));
  try {
    for (const [key, script] of [
      ['engines', 'train-engines.ts'],
      ['read', 'read-path.ts'],
      ['l2', 'l2-search.ts'],
      ['trainer', 'trainer-flat.ts'],
    ] as const) {
      if (filter && filter !== key && !(key === 'engines' && 'engines'.includes(filter))) continue;
      const json = path.join(folder, `${key}.json`);
      const { stdout } = await run(process.execPath, ['-r', register, path.join(__dirname, script)], { maxBuffer: 16 << 20, env: { ...process.env, BENCH_JSON: json } });
      console.log(`\n${stdout.trim()}`);
      (figures as Record<string, unknown>)[key] = JSON.parse(readFileSync(json, 'utf8'));
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  if (figures.engines && figures.read && figures.l2 && figures.trainer) console.log(`\n${summaryTable(figures as SummaryFigures)}`);
}

interface SummaryFigures {
  engines: EngineFigures;
  read: { rows: number; dim: number; measurements: ReadPathMeasurement[] };
  l2: Array<{ name: string; oneFitS: number; togetherS: number }>;
  trainer: FlatTrainerFigures;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const runs = (values: number[], digits = 0) => `${median(values).toFixed(digits)} (${values.map((v) => v.toFixed(digits)).join(', ')})`;

/** A bus measurement's CPU s per GB by process, and the float32 MB/s the machine's cores could deliver at that cost. */
function cpuPerGB({ cpuSecondsPerGB: { reader, store, nats } }: ReadPathMeasurement): string {
  const total = reader + store + nats;
  return `${reader.toFixed(2)} / ${store.toFixed(2)} / ${nats.toFixed(2)} = ${total.toFixed(2)}: ${os.cpus().length} cores move at most ${((os.cpus().length / total) * 2000).toFixed(0)} MB/s float32 at this cost`;
}

/** The figures the training-speed targets are about, from this run's benches, with the targets. */
function summaryTable({ engines, read, l2, trainer }: SummaryFigures): string {
  const sgd = engines.steps.filter((s) => s.optimizer === 'tutorial SGD');
  const chosen = sgd.reduce((best, s) => (median(s.rowsPerSecond) > median(best.rowsPerSecond) ? s : best));
  const gemm = engines.gemm.find((g) => g.key === chosen.engine)!;
  const bandwidth = Math.max(...engines.bandwidth.map((b) => b.gbPerSecond));
  const step = median(chosen.rowsPerSecond);
  const computeBound = (gemm.stepGflops * 1e9) / engines.flopsPerRow;
  const memoryBound = (32 * bandwidth * 1e9) / engines.bytesPerStep['tutorial SGD'];
  const busRead = read.measurements.find((m) => m.source === 'bus' && m.readAheadMiB === DEFAULT_READ_AHEAD_BYTES / (1024 * 1024) && m.maxPayload === 1024 * 1024) ?? read.measurements[0];
  const directRead = read.measurements.find((m) => m.source === 'direct');
  const lines = [
    `Training-speed figures of this run (${os.cpus().length} cores; medians, each run in brackets):`,
    '',
    '| figure | measured | target |',
    '|---|---|---|',
    `| GEMM rate of the chosen engine (${chosen.engine}) at the step's shapes | ${gemm.stepGflops.toFixed(1)} GFLOP/s (forward ${gemm.forwardGflops.toFixed(1)}, weight gradient ${gemm.gradientGflops.toFixed(1)}) | — |`,
    `| memory bandwidth | ${bandwidth.toFixed(1)} GB/s | — |`,
    `| core step, tutorial MLP ${trainer.dim}-256-16-2, batch 32, SGD (${chosen.engine}) | ${runs(chosen.rowsPerSecond)} rows/s = ${(step / computeBound).toFixed(2)} of the compute bound (${computeBound.toFixed(0)} rows/s), ${(step / memoryBound).toFixed(2)} of the memory bound (${memoryBound.toFixed(0)} rows/s) | ≥ 0.5 of the GEMM rate; ≥ 0.7 of the memory bound if that is < 1,000 rows/s |`,
    `| read path alone, bus (1 MiB replies), ${read.rows} float16 rows of ${read.dim} | ${runs(busRead.float32MBps)} MB/s float32, ${runs(busRead.rowsPerSecond)} rows/s | ≥ 500 MB/s |`,
    `| CPU the bus read path takes, s per GB of float16 moved: reader / feature store / nats-server | ${cpuPerGB(busRead)} | — |`,
    ...(directRead ? [`| read path alone, shard files (FEATX_TRAINER_READ=direct) | ${runs(directRead.float32MBps)} MB/s float32, ${runs(directRead.rowsPerSecond)} rows/s | ≥ 500 MB/s |`] : []),
    ...trainer.variants.map(
      (v) =>
        `| trainer service end to end, ${trainer.rows.toLocaleString('en-US')} float16 rows of ${trainer.dim.toLocaleString('en-US')}, reads ${v.read}, engine ${v.engine} | ${v.bestEpochRowsPerSecond.toFixed(0)} rows/s (epoch), peak RSS trainer ${v.peakRssMiB.trainer} MiB, feature store ${v.peakRssMiB.featureStore} MiB | ≥ 1,000 rows/s |`,
    ),
    ...l2.map((c) => `| five-candidate L2 search / one fit (${c.name}) | ${(c.togetherS / c.oneFitS).toFixed(2)} (${c.togetherS.toFixed(1)} s / ${c.oneFitS.toFixed(1)} s) | ≤ 2 |`),
    `| peak RSS, read-path bench process (bus) | ${busRead.peakRssMiB} MiB | flat with data size |`,
  ];
  return lines.join('\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
