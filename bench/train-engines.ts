/**
 * The compute engines a training step could run on, measured against this machine's bounds in one
 * run (part of `npm run bench:train`; alone: `node -r ./tools/register.js bench/train-engines.ts`):
 *
 * - the GEMM rate (GFLOP/s) at the tutorial step's shapes — forward X·Wᵀ [32 × 100,352]·[100,352 ×
 *   256] and the weight gradient dZᵀ·X [256 × 32]·[32 × 100,352] — on ONNX Runtime (MLAS, one
 *   intra-op thread per core) and on TF.js wasm (XNNPACK, the current head's layouts);
 * - the memory bandwidth (GB/s): a streaming a + b → c over 3 × 128 MiB, in ORT and in a plain
 *   JavaScript loop;
 * - the batch-32 step of the 100352-256-16-2 MLP (tutorial SGD, and Adam) on each engine, in rows/s
 *   and as a fraction of the compute bound (FLOPs per row at the GEMM rate) and of the memory bound
 *   (bytes of weights and optimizer state a step must stream, at the measured bandwidth).
 *
 * The machine is shared and noisy: every figure is the median of several repetitions, and the
 * fractions compare figures taken minutes apart in the same process.
 */
import * as tf from '@tensorflow/tfjs';
import { GraphIo, OnnxGraphBuilder, encodeGraph } from '@featx/onnx';
import { HeadEngine, OptimizerSpec, TUTORIAL_SGD, TrainableHead, createHead } from '@featx/learning';
import { floatTensor, openSyncSession } from '../libs/learning/src/onnx/sync-session';
import { selectBackend } from '@featx/vision';

const ROWS = 32;
const INPUTS = 100352;
const UNITS = 256;
const HIDDEN = [256, 16];
const CLASSES = 2;
const STREAM_FLOATS = 32 * 1024 * 1024; // 128 MiB per array

export interface EngineFigures {
  gemm: Array<{ engine: string; forwardGflops: number; gradientGflops: number; stepGflops: number }>;
  bandwidth: Array<{ engine: string; gbPerSecond: number }>;
  steps: Array<{ engine: string; optimizer: string; rowsPerSecond: number[] }>;
  flopsPerRow: number;
  bytesPerStep: Record<string, number>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median milliseconds of `repeats` calls after one warm-up. */
function timeMs(repeats: number, body: () => void): number {
  body();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    body();
    times.push(performance.now() - start);
  }
  return median(times);
}

function filled(size: number, seed: number): Float32Array {
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (((i * 2654435761 + seed) >>> 0) % 2001) / 1000 - 1;
  return values;
}

const gemmFlops = 2 * ROWS * INPUTS * UNITS;

export function onnxGemm(repeats: number): EngineFigures['gemm'][number] {
  const io = (name: string, dims: number[]): GraphIo => ({ name, dims });
  const forward = new OnnxGraphBuilder();
  forward.node('Gemm', ['x', 'kernelT'], 'z', { transB: 1 }, 'z');
  const forwardSession = openSyncSession(encodeGraph(forward, 'forward', [io('x', [ROWS, INPUTS]), io('kernelT', [UNITS, INPUTS])], [io('z', [ROWS, UNITS])], 17));
  const gradient = new OnnxGraphBuilder();
  gradient.node('Gemm', ['dz', 'x'], 'g', { transA: 1 }, 'g');
  const gradientSession = openSyncSession(encodeGraph(gradient, 'gradient', [io('dz', [ROWS, UNITS]), io('x', [ROWS, INPUTS])], [io('g', [UNITS, INPUTS])], 17));
  const x = floatTensor(filled(ROWS * INPUTS, 1), [ROWS, INPUTS]);
  const kernelT = floatTensor(filled(UNITS * INPUTS, 2), [UNITS, INPUTS]);
  const dz = floatTensor(filled(ROWS * UNITS, 3), [ROWS, UNITS]);
  const into = floatTensor(new Float32Array(UNITS * INPUTS), [UNITS, INPUTS]);
  const forwardMs = timeMs(repeats, () => forwardSession.run({ x, kernelT }, { z: null }));
  const gradientMs = timeMs(repeats, () => gradientSession.run({ dz, x }, { g: into }));
  forwardSession.dispose();
  gradientSession.dispose();
  return gemmFigures('onnxruntime (MLAS)', forwardMs, gradientMs);
}

export function tfjsGemm(repeats: number): EngineFigures['gemm'][number] {
  const x = tf.tensor2d(filled(ROWS * INPUTS, 1), [ROWS, INPUTS]);
  const kernelT = tf.tensor2d(filled(UNITS * INPUTS, 2), [UNITS, INPUTS]);
  const dz = tf.tensor2d(filled(ROWS * UNITS, 3), [ROWS, UNITS]);
  // The current head's layouts (dense-network.ts): the big operand on the left, never re-packed.
  const forwardMs = timeMs(repeats, () => tf.tidy(() => tf.matMul(kernelT, tf.transpose(x)).dataSync()));
  const gradientMs = timeMs(repeats, () => tf.tidy(() => tf.matMul(tf.transpose(dz), x).dataSync()));
  tf.dispose([x, kernelT, dz]);
  return gemmFigures(`tfjs ${tf.getBackend()} (XNNPACK)`, forwardMs, gradientMs);
}

function gemmFigures(engine: string, forwardMs: number, gradientMs: number): EngineFigures['gemm'][number] {
  return {
    engine,
    forwardGflops: gemmFlops / forwardMs / 1e6,
    gradientGflops: gemmFlops / gradientMs / 1e6,
    stepGflops: (2 * gemmFlops) / (forwardMs + gradientMs) / 1e6,
  };
}

/** c = a + b over three 128 MiB arrays: 384 MiB moved. */
export function onnxBandwidth(repeats: number): EngineFigures['bandwidth'][number] {
  const graph = new OnnxGraphBuilder();
  graph.node('Add', ['a', 'b'], 'c', {}, 'c');
  const io = (name: string): GraphIo => ({ name, dims: [STREAM_FLOATS] });
  const session = openSyncSession(encodeGraph(graph, 'stream', [io('a'), io('b')], [io('c')], 17));
  const [a, b, c] = [1, 2, 3].map((seed) => floatTensor(filled(STREAM_FLOATS, seed), [STREAM_FLOATS]));
  const ms = timeMs(repeats, () => session.run({ a, b }, { c }));
  session.dispose();
  return { engine: 'onnxruntime Add (all cores)', gbPerSecond: (3 * 4 * STREAM_FLOATS) / ms / 1e6 };
}

export function javascriptBandwidth(repeats: number): EngineFigures['bandwidth'][number] {
  const [a, b, c] = [1, 2, 3].map((seed) => filled(STREAM_FLOATS, seed));
  const ms = timeMs(repeats, () => {
    for (let i = 0; i < STREAM_FLOATS; i++) c[i] = a[i] + b[i];
  });
  return { engine: 'JavaScript Float32Array loop (one thread)', gbPerSecond: (3 * 4 * STREAM_FLOATS) / ms / 1e6 };
}

/** Multiply-adds of the batch-32 step, per row: forward, weight gradients, input gradients below the first layer. */
function stepFlopsPerRow(): number {
  const sizes = [INPUTS, ...HIDDEN, CLASSES];
  let flops = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const weights = sizes[l] * sizes[l + 1];
    flops += 2 * weights * (l === 0 ? 2 : 3); // the first layer needs no input gradient
  }
  return flops;
}

/**
 * Bytes a step must move at the least: the forward pass reads every kernel, the update reads and
 * writes each weight and each optimizer slot once (SGD with momentum: w, v; Adam: w, m, v).
 */
function stepBytes(slots: number): number {
  const sizes = [INPUTS, ...HIDDEN, CLASSES];
  let weights = 0;
  for (let l = 0; l + 1 < sizes.length; l++) weights += sizes[l] * sizes[l + 1] + sizes[l + 1];
  return 4 * weights * (1 + 2 * (1 + slots)) + 4 * ROWS * INPUTS;
}

function stepRowsPerSecond(engine: HeadEngine, optimizer: OptimizerSpec, steps: number): number {
  const head: TrainableHead = createHead({ kind: 'mlp', inputDim: INPUTS, classes: CLASSES, hidden: HIDDEN }, 42, optimizer, undefined, { engine });
  const batches = [1, 2, 3].map((seed) => filled(ROWS * INPUTS, seed));
  const labels = Int32Array.from({ length: ROWS }, (_, i) => i % CLASSES);
  head.trainBatch(batches[0], labels); // warm-up: heaps and arenas grow to their working size
  const start = performance.now();
  for (let s = 0; s < steps; s++) head.trainBatch(batches[s % batches.length], labels);
  const seconds = (performance.now() - start) / 1000;
  head.dispose();
  return (steps * ROWS) / seconds;
}

export async function measureEngines(options: { runs?: number; steps?: number; log?: (line: string) => void } = {}): Promise<EngineFigures> {
  const runs = options.runs ?? 3;
  const steps = options.steps ?? 10;
  const log = options.log ?? (() => undefined);
  await selectBackend('wasm', { log: () => undefined });
  const gemm = [onnxGemm(5), tfjsGemm(5)];
  gemm.forEach((g) => log(`gemm ${g.engine}: forward ${g.forwardGflops.toFixed(1)}, gradient ${g.gradientGflops.toFixed(1)} GFLOP/s`));
  const bandwidth = [onnxBandwidth(5), javascriptBandwidth(3)];
  bandwidth.forEach((b) => log(`bandwidth ${b.engine}: ${b.gbPerSecond.toFixed(1)} GB/s`));
  const optimizers: Array<[string, OptimizerSpec]> = [
    ['tutorial SGD', TUTORIAL_SGD],
    ['Adam', { kind: 'adam', learningRate: 1e-3 }],
  ];
  const stepRuns: EngineFigures['steps'] = [];
  for (const [name, optimizer] of optimizers) {
    for (const engine of ['onnx', 'tfjs'] as HeadEngine[]) {
      const rowsPerSecond: number[] = [];
      for (let r = 0; r < runs; r++) rowsPerSecond.push(stepRowsPerSecond(engine, optimizer, engine === 'tfjs' ? Math.ceil(steps / 3) : steps));
      log(`step ${engine} ${name}: ${rowsPerSecond.map((v) => v.toFixed(0)).join(' / ')} rows/s`);
      stepRuns.push({ engine, optimizer: name, rowsPerSecond });
    }
  }
  return { gemm, bandwidth, steps: stepRuns, flopsPerRow: stepFlopsPerRow(), bytesPerStep: { 'tutorial SGD': stepBytes(1), Adam: stepBytes(2) } };
}

/** The README table: each engine's GEMM rate, the bandwidth, each step against both bounds. */
export function engineTable(figures: EngineFigures): string {
  const lines: string[] = [];
  const onnx = figures.gemm[0];
  const bestBandwidth = Math.max(...figures.bandwidth.map((b) => b.gbPerSecond));
  lines.push('| engine | GEMM forward (GFLOP/s) | GEMM weight gradient (GFLOP/s) | both, as in a step (GFLOP/s) |', '|---|---|---|---|');
  for (const g of figures.gemm) lines.push(`| ${g.engine} | ${g.forwardGflops.toFixed(1)} | ${g.gradientGflops.toFixed(1)} | ${g.stepGflops.toFixed(1)} |`);
  lines.push('', '| memory bandwidth, c = a + b over 3 × 128 MiB | GB/s |', '|---|---|');
  for (const b of figures.bandwidth) lines.push(`| ${b.engine} | ${b.gbPerSecond.toFixed(1)} |`);
  const computeBound = (onnx.stepGflops * 1e9) / figures.flopsPerRow;
  lines.push(
    '',
    `Bounds of a batch-${ROWS} step of the ${[INPUTS, ...HIDDEN, CLASSES].join('-')} MLP: ${(figures.flopsPerRow / 1e6).toFixed(1)} MFLOP a row ` +
      `→ compute bound ${computeBound.toFixed(0)} rows/s at ORT's ${onnx.stepGflops.toFixed(1)} GFLOP/s; ` +
      Object.entries(figures.bytesPerStep)
        .map(([name, bytes]) => `${name} streams ≥ ${(bytes / 1e6).toFixed(0)} MB a step → memory bound ${((ROWS * bestBandwidth * 1e9) / bytes).toFixed(0)} rows/s at ${bestBandwidth.toFixed(1)} GB/s`)
        .join('; ') +
      '.',
    '',
    '| step | engine | rows/s (runs) | of the compute bound | of the memory bound |',
    '|---|---|---|---|---|',
  );
  for (const s of figures.steps) {
    const rows = median(s.rowsPerSecond);
    const memoryBound = (ROWS * bestBandwidth * 1e9) / figures.bytesPerStep[s.optimizer];
    lines.push(`| ${s.optimizer} | ${s.engine} | ${s.rowsPerSecond.map((v) => v.toFixed(0)).join(' / ')} | ${(rows / computeBound).toFixed(2)} | ${(rows / memoryBound).toFixed(2)} |`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  measureEngines({ log: (line) => console.error(line) })
    .then((figures) => console.log(engineTable(figures)))
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    });
}
