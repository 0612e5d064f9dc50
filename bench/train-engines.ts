/**
 * The compute engines a training step could run on, measured against this machine's bounds in one
 * run (part of `npm run bench:train`; alone: `node -r ./tools/register.js bench/train-engines.ts`):
 *
 * - the GEMM rate (GFLOP/s) at the tutorial step's shapes — forward X·Wᵀ [32 × 100,352]·[100,352 ×
 *   256] and the weight gradient dZᵀ·X [256 × 32]·[32 × 100,352] — on ONNX Runtime (MLAS, one
 *   intra-op thread per core), on TF.js wasm (XNNPACK, the current head's layouts) and, where
 *   featx_dense.node is built, on oneDNN (the onednn head's layouts, OpenMP threads);
 * - the memory bandwidth (GB/s): a streaming a + b → c over 3 × 128 MiB, in ORT and in a plain
 *   JavaScript loop, and y += a·x in the addon;
 * - the onednn engine's passes over the 100,352 × 256 kernel (a step's: the pending update and the
 *   next forward in one pass over the kernel and its slots), by column chunk size;
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
import { DenseAddon, denseAddonStatus } from '../libs/learning/src/onednn/dense-addon';
import { selectBackend } from '@featx/vision';
import { writeBenchJson } from './bench-json';

const ROWS = 32;
const INPUTS = 100352;
const UNITS = 256;
const HIDDEN = [256, 16];
const CLASSES = 2;
const STREAM_FLOATS = 32 * 1024 * 1024; // 128 MiB per array
/** Column chunks of the onednn engine's kernel passes measured (onednn-head.ts uses CHUNK_COLUMNS). */
const PASS_CHUNKS = [256, 512, 1024, 4096];

export interface EngineFigures {
  gemm: Array<{ key: HeadEngine; engine: string; forwardGflops: number; gradientGflops: number; stepGflops: number }>;
  bandwidth: Array<{ engine: string; gbPerSecond: number }>;
  steps: Array<{ engine: HeadEngine; optimizer: string; rowsPerSecond: number[] }>;
  /**
   * The onednn engine's passes over the first kernel, per pass: oneDNN's tile-by-tile GEMMs by
   * chunk size, and the fused pass (its own chunk; AVX-512, or AVX2 with FMA) where the CPU has it (empty without the addon).
   */
  kernelPasses: Array<{ pass: string; path: 'onednn' | 'fused'; chunk: number; ms: number; gflops: number; gbPerSecond: number }>;
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
  // The gradient summed to one number: onnxruntime-node copies every output into a new buffer, and a
  // 103 MB copy would be timed instead of the GEMM (the sum reads it once more: ~5 ms, counted).
  const gradient = new OnnxGraphBuilder();
  gradient.node('ReduceSum', [gradient.node('Gemm', ['dz', 'x'], 'g', { transA: 1 })], 'sum', { keepdims: 0 }, 'sum');
  const gradientSession = openSyncSession(encodeGraph(gradient, 'gradient', [io('dz', [ROWS, UNITS]), io('x', [ROWS, INPUTS])], [io('sum', [])], 17));
  const x = floatTensor(filled(ROWS * INPUTS, 1), [ROWS, INPUTS]);
  const kernelT = floatTensor(filled(UNITS * INPUTS, 2), [UNITS, INPUTS]);
  const dz = floatTensor(filled(ROWS * UNITS, 3), [ROWS, UNITS]);
  const forwardMs = timeMs(repeats, () => forwardSession.run({ x, kernelT }, { z: null }));
  const gradientMs = timeMs(repeats, () => gradientSession.run({ dz, x }, { sum: null }));
  forwardSession.dispose();
  gradientSession.dispose();
  return gemmFigures('onnx', 'onnxruntime (MLAS, one thread per core)', forwardMs, gradientMs);
}

export function tfjsGemm(repeats: number): EngineFigures['gemm'][number] {
  const x = tf.tensor2d(filled(ROWS * INPUTS, 1), [ROWS, INPUTS]);
  const kernelT = tf.tensor2d(filled(UNITS * INPUTS, 2), [UNITS, INPUTS]);
  const dz = tf.tensor2d(filled(ROWS * UNITS, 3), [ROWS, UNITS]);
  // The current head's layouts (dense-network.ts): the big operand on the left, never re-packed.
  // Synchronised through a sum: dataSync() of the 103 MB gradient itself takes minutes on wasm.
  const forwardMs = timeMs(repeats, () => tf.tidy(() => tf.sum(tf.matMul(kernelT, tf.transpose(x))).dataSync()));
  const gradientMs = timeMs(repeats, () => tf.tidy(() => tf.sum(tf.matMul(tf.transpose(dz), x)).dataSync()));
  tf.dispose([x, kernelT, dz]);
  return gemmFigures('tfjs', `tfjs ${tf.getBackend()} (XNNPACK)`, forwardMs, gradientMs);
}

/**
 * oneDNN through featx_dense.node, in the onednn head's layouts (onednn-head.ts), one GEMM each:
 * forward Zᵀ = W·Xᵀ, the gradient dZᵀ·X written whole into a 103 MB array (the head runs both tile
 * by tile in one pass with the update instead: kernelPasses).
 */
export function onednnGemm(addon: DenseAddon, repeats: number): EngineFigures['gemm'][number] {
  const x = filled(ROWS * INPUTS, 1);
  const kernelT = filled(UNITS * INPUTS, 2);
  const dzT = filled(UNITS * ROWS, 3);
  const zT = new Float32Array(UNITS * ROWS);
  const gradient = new Float32Array(UNITS * INPUTS);
  const forwardMs = timeMs(repeats, () => addon.gemm(false, true, UNITS, ROWS, INPUTS, 1, kernelT, INPUTS, x, INPUTS, 0, zT, ROWS));
  const gradientMs = timeMs(repeats, () => addon.gemm(false, false, UNITS, INPUTS, ROWS, 1, dzT, ROWS, x, INPUTS, 0, gradient, INPUTS));
  return gemmFigures('onednn', `oneDNN ${addon.info().onednn} sgemm (featx_dense.node, ${addon.threads()} OpenMP threads)`, forwardMs, gradientMs);
}

/**
 * The onednn head's passes over the 100,352 × 256 kernel, by column chunk: a training step's pass
 * (the previous step's update from dZᵀ and X, then the forward of the next batch with the updated
 * weights, tile by tile), the update alone (what a read of the weights applies) and the forward
 * alone. Rates: the GEMMs' FLOPs over the pass's time, and the bytes of kernel and slots it reads
 * and writes (SGD with momentum: w, v; Adam: w, m, v) over its time.
 */
export function onednnKernelPasses(addon: DenseAddon, repeats: number, chunks: number[]): EngineFigures['kernelPasses'] {
  const x = filled(ROWS * INPUTS, 1);
  const next = filled(ROWS * INPUTS, 4);
  const dzT = filled(UNITS * ROWS, 3).map((value) => value * 1e-6); // small steps: the weights stay finite over the repeats
  const kernel = filled(UNITS * INPUTS, 2);
  const [first, second] = [new Float32Array(UNITS * INPUTS), new Float32Array(UNITS * INPUTS)];
  const zT = new Float32Array(UNITS * ROWS);
  const kept = new Float32Array(ROWS * INPUTS);
  const forward = (squares: boolean) => ({ input: next, rows: ROWS, zT, squares, keep: kept });
  const figures: EngineFigures['kernelPasses'] = [];
  // oneDNN's passes by chunk, then the fused pass (the engine's default where the CPU has AVX-512 or AVX2 with FMA;
  // its chunk is its own, which the addon reports and this only labels it with).
  const fusedToo = addon.setFusedPasses(true);
  const paths: Array<['onednn' | 'fused', number]> = [...chunks.map((chunk): ['onednn', number] => ['onednn', chunk]), ...(fusedToo ? [['fused', addon.info().fusedChunkColumns] as ['fused', number]] : [])];
  for (const [path, chunk] of paths) {
    addon.setFusedPasses(path === 'fused');
    const passes: Array<[string, number, number, () => void]> = [
      ['tutorial SGD: update + forward (a step)', 2, 2, () => addon.sgdKernelUpdate(kernel, first, dzT, x, UNITS, INPUTS, ROWS, 0.9, 0, chunk, forward(false))],
      ['tutorial SGD, L2: update + forward + Σw²', 2, 2, () => addon.sgdKernelUpdate(kernel, first, dzT, x, UNITS, INPUTS, ROWS, 0.9, -1e-7, chunk, forward(true))],
      ['Adam: update + forward (a step)', 3, 2, () => addon.adamKernelUpdate(kernel, first, second, dzT, x, UNITS, INPUTS, ROWS, 1e-6, 0.9, 0.999, 1e-7, 0, chunk, forward(false))],
      ['tutorial SGD: update alone', 2, 1, () => addon.sgdKernelUpdate(kernel, first, dzT, x, UNITS, INPUTS, ROWS, 0.9, 0, chunk, null)],
      ['forward alone', 0.5, 1, () => addon.kernelForward(kernel, UNITS, INPUTS, chunk, forward(false))],
    ];
    for (const [pass, arrays, gemms, run] of passes) {
      const ms = timeMs(repeats, run);
      figures.push({ pass, path, chunk, ms, gflops: (gemms * gemmFlops) / ms / 1e6, gbPerSecond: (2 * arrays * 4 * UNITS * INPUTS) / ms / 1e6 });
    }
  }
  addon.setFusedPasses(true);
  return figures;
}

function gemmFigures(key: HeadEngine, engine: string, forwardMs: number, gradientMs: number): EngineFigures['gemm'][number] {
  return {
    key,
    engine,
    forwardGflops: gemmFlops / forwardMs / 1e6,
    gradientGflops: gemmFlops / gradientMs / 1e6,
    stepGflops: (2 * gemmFlops) / (forwardMs + gradientMs) / 1e6,
  };
}

/**
 * ORT: sum(a + b) over two 128 MiB arrays, the sum an intermediate in ORT's (warm) arena: reads
 * a and b, writes and reads back c, 512 MiB moved, one thread per core; no output to copy.
 */
export function onnxBandwidth(repeats: number): EngineFigures['bandwidth'][number] {
  const graph = new OnnxGraphBuilder();
  graph.node('ReduceSum', [graph.node('Add', ['a', 'b'], 'c')], 'sum', { keepdims: 0 }, 'sum');
  const session = openSyncSession(encodeGraph(graph, 'stream', [{ name: 'a', dims: [STREAM_FLOATS] }, { name: 'b', dims: [STREAM_FLOATS] }], [{ name: 'sum', dims: [] }], 17));
  const [a, b] = [1, 2].map((seed) => floatTensor(filled(STREAM_FLOATS, seed), [STREAM_FLOATS]));
  const ms = timeMs(repeats, () => session.run({ a, b }, { sum: null }));
  session.dispose();
  return { engine: 'onnxruntime sum(a + b), 2 × 128 MiB (all cores)', gbPerSecond: (4 * 4 * STREAM_FLOATS) / ms / 1e6 };
}

/** featx_dense.node: y += α·x over two 128 MiB arrays (reads x and y, writes y: 384 MiB moved), OpenMP threads. */
export function onednnBandwidth(addon: DenseAddon, repeats: number): EngineFigures['bandwidth'][number] {
  const [x, y] = [1, 2].map((seed) => filled(STREAM_FLOATS, seed));
  const ms = timeMs(repeats, () => addon.axpy(1e-9, x, y));
  return { engine: `featx_dense.node y += a·x, 3 × 128 MiB (${addon.threads()} OpenMP threads)`, gbPerSecond: (3 * 4 * STREAM_FLOATS) / ms / 1e6 };
}

/** JavaScript, one thread: c[i] = a[i] + b[i] (384 MiB moved) and c.set(a), a memcpy (256 MiB). */
export function javascriptBandwidth(repeats: number): Array<EngineFigures['bandwidth'][number]> {
  const [a, b, c] = [1, 2, 3].map((seed) => filled(STREAM_FLOATS, seed));
  const addMs = timeMs(repeats, () => {
    for (let i = 0; i < STREAM_FLOATS; i++) c[i] = a[i] + b[i];
  });
  const copyMs = timeMs(repeats, () => c.set(a));
  return [
    { engine: 'JavaScript loop c = a + b, 3 × 128 MiB (one thread)', gbPerSecond: (3 * 4 * STREAM_FLOATS) / addMs / 1e6 },
    { engine: 'JavaScript TypedArray.set (memcpy), 2 × 128 MiB (one thread)', gbPerSecond: (2 * 4 * STREAM_FLOATS) / copyMs / 1e6 },
  ];
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
  // Warm-up: heaps and arenas grow to their working size, and optimizer slots get their pages (the
  // onednn engine writes its slots first in the second step: it applies each update in the next pass).
  for (let s = 0; s < 2; s++) head.trainBatch(batches[s], labels);
  const start = performance.now();
  for (let s = 0; s < steps; s++) head.trainBatch(batches[s % batches.length], labels);
  const seconds = (performance.now() - start) / 1000;
  head.dispose();
  return (steps * ROWS) / seconds;
}

export async function measureEngines(options: { runs?: number; steps?: number; log?: (line: string) => void } = {}): Promise<EngineFigures> {
  const runs = options.runs ?? 3;
  const steps = options.steps ?? 8;
  const log = options.log ?? (() => undefined);
  await selectBackend('wasm', { log: () => undefined });
  const native = denseAddonStatus();
  if (!native.available) log(`onednn engine not measured: ${native.reason}`);
  const addon = native.available ? native.addon : undefined;
  const engines: HeadEngine[] = addon ? ['onednn', 'onnx', 'tfjs'] : ['onnx', 'tfjs'];
  const gemm = [...(addon ? [onednnGemm(addon, 5)] : []), onnxGemm(5), tfjsGemm(5)];
  gemm.forEach((g) => log(`gemm ${g.engine}: forward ${g.forwardGflops.toFixed(1)}, gradient ${g.gradientGflops.toFixed(1)} GFLOP/s`));
  const bandwidth = [...(addon ? [onednnBandwidth(addon, 5)] : []), onnxBandwidth(5), ...javascriptBandwidth(3)];
  bandwidth.forEach((b) => log(`bandwidth ${b.engine}: ${b.gbPerSecond.toFixed(1)} GB/s`));
  const kernelPasses = addon ? onednnKernelPasses(addon, 5, PASS_CHUNKS) : [];
  kernelPasses.forEach((f) => log(`kernel pass ${f.pass}, ${f.path} chunk ${f.chunk}: ${f.ms.toFixed(1)} ms (${f.gflops.toFixed(1)} GFLOP/s, ${f.gbPerSecond.toFixed(1)} GB/s)`));
  const optimizers: Array<[string, OptimizerSpec]> = [
    ['tutorial SGD', TUTORIAL_SGD],
    ['Adam', { kind: 'adam', learningRate: 1e-3 }],
  ];
  const stepRuns: EngineFigures['steps'] = [];
  for (const [name, optimizer] of optimizers) {
    const byEngine = new Map<HeadEngine, number[]>(engines.map((engine) => [engine, []]));
    // Engines alternate run by run, so that both see the same load on this shared machine.
    for (let r = 0; r < runs; r++) for (const [engine, rowsPerSecond] of byEngine) rowsPerSecond.push(stepRowsPerSecond(engine, optimizer, steps));
    for (const [engine, rowsPerSecond] of byEngine) {
      log(`step ${engine} ${name}: ${rowsPerSecond.map((v) => v.toFixed(0)).join(' / ')} rows/s`);
      stepRuns.push({ engine, optimizer: name, rowsPerSecond });
    }
  }
  return { gemm, bandwidth, steps: stepRuns, kernelPasses, flopsPerRow: stepFlopsPerRow(), bytesPerStep: { 'tutorial SGD': stepBytes(1), Adam: stepBytes(2) } };
}

/** The README table: each engine's GEMM rate, the bandwidth, each step against both bounds. */
export function engineTable(figures: EngineFigures): string {
  const lines: string[] = [];
  const bestBandwidth = Math.max(...figures.bandwidth.map((b) => b.gbPerSecond));
  const computeBound = (key: HeadEngine) => (figures.gemm.find((g) => g.key === key)!.stepGflops * 1e9) / figures.flopsPerRow;
  const memoryBound = (optimizer: string) => (ROWS * bestBandwidth * 1e9) / figures.bytesPerStep[optimizer];
  lines.push(
    `GEMM at the step's shapes: forward X·Wᵀ [${ROWS} × ${INPUTS}]·[${INPUTS} × ${UNITS}], weight gradient dZᵀ·X [${UNITS} × ${ROWS}]·[${ROWS} × ${INPUTS}] (median of 5):`,
    '',
    '| engine | forward (GFLOP/s) | weight gradient (GFLOP/s) | both, as in a step (GFLOP/s) |',
    '|---|---|---|---|',
  );
  for (const g of figures.gemm) lines.push(`| ${g.engine} | ${g.forwardGflops.toFixed(1)} | ${g.gradientGflops.toFixed(1)} | ${g.stepGflops.toFixed(1)} |`);
  lines.push('', '| memory bandwidth | GB/s |', '|---|---|');
  for (const b of figures.bandwidth) lines.push(`| ${b.engine} | ${b.gbPerSecond.toFixed(1)} |`);
  lines.push(
    '',
    `Bounds of a batch-${ROWS} step of the ${[INPUTS, ...HIDDEN, CLASSES].join('-')} MLP: ${(figures.flopsPerRow / 1e6).toFixed(1)} MFLOP a row ` +
      `(forward and weight gradients of every layer, input gradients below the first) → compute bound ` +
      figures.gemm.map((g) => `${computeBound(g.key).toFixed(0)} rows/s at ${g.key}'s ${g.stepGflops.toFixed(1)} GFLOP/s`).join(', ') +
      '; ' +
      Object.entries(figures.bytesPerStep)
        .map(([name, bytes]) => `${name} streams ≥ ${(bytes / 1e6).toFixed(0)} MB a step (forward reads each weight, the update reads and writes each weight and slot) → memory bound ${memoryBound(name).toFixed(0)} rows/s at ${bestBandwidth.toFixed(1)} GB/s`)
        .join('; ') +
      '.',
    '',
    '| optimizer | engine | step rows/s (runs) | of its engine\'s compute bound | of the memory bound |',
    '|---|---|---|---|---|',
  );
  for (const s of figures.steps) {
    const rows = median(s.rowsPerSecond);
    lines.push(`| ${s.optimizer} | ${s.engine} | ${s.rowsPerSecond.map((v) => v.toFixed(0)).join(' / ')} | ${(rows / computeBound(s.engine as HeadEngine)).toFixed(2)} | ${(rows / memoryBound(s.optimizer)).toFixed(2)} |`);
  }
  if (figures.kernelPasses.length > 0) {
    lines.push(
      '',
      `onednn's passes over the ${INPUTS} × ${UNITS} kernel (oneDNN: tile by tile, the pending update's gradient GEMM and optimizer, then the next batch's forward GEMM, while the tile is in cache; fused: gradient, update and forward per register block, AVX-512 or AVX2 with FMA; median of 5):`,
      '',
      '| pass | path | column chunk | ms | GEMMs (GFLOP/s) | kernel + slots read and written (GB/s) |',
      '|---|---|---|---|---|---|',
    );
    for (const f of figures.kernelPasses) lines.push(`| ${f.pass} | ${f.path} | ${f.chunk} | ${f.ms.toFixed(1)} | ${f.gflops.toFixed(1)} | ${f.gbPerSecond.toFixed(1)} |`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  measureEngines({ log: (line) => console.error(line) })
    .then((figures) => {
      writeBenchJson(figures);
      console.log(engineTable(figures));
    })
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    });
}
