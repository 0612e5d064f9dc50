/**
 * A/B of the onednn engine's two kinds of kernel pass on the tutorial's first layer (100,352 × 256,
 * batch 32), in one process, alternating call by call so that both see the same load on this shared
 * machine: the fused pass (AVX-512, or AVX2 with FMA; featx_dense.cc, "Fused passes": gradient, update and forward per
 * register block) against oneDNN's GEMMs tile by tile (setFusedPasses(false)).
 *
 *   node -r ./tools/register.js bench/fused-passes.ts [repeats=15] [steps=20] [runs=3]
 *
 * Prints each pass's median ms (and min), then the batch-32 step of the 100352-256-16-2 MLP in rows/s
 * (tutorial SGD, and Adam; the path switched step by step), with the load average before and after.
 */
import * as os from 'node:os';
import { OptimizerSpec, TUTORIAL_SGD, createHead } from '@featx/learning';
import { DenseAddon, requireDenseAddon } from '../libs/learning/src/onednn/dense-addon';
import { selectBackend } from '@featx/vision';

const ROWS = 32;
const INPUTS = 100352;
const UNITS = 256;
const CHUNK = 512; // the oneDNN pass's tile columns (onednn-head.ts CHUNK_COLUMNS); the fused pass has its own

function filled(size: number, seed: number): Float32Array {
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (((i * 2654435761 + seed) >>> 0) % 2001) / 1000 - 1;
  return values;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const load = () => os.loadavg().map((value) => value.toFixed(2)).join(' ');

/** Whether the addon takes the fused path once asked (false: this CPU has neither AVX-512 nor AVX2 with FMA, no A/B to run). */
function setFused(addon: DenseAddon, fused: boolean): void {
  if (addon.setFusedPasses(fused) !== fused) throw new Error('this CPU has neither AVX-512 nor AVX2 with FMA: the fused passes cannot be measured here');
}

function passes(addon: DenseAddon, repeats: number): void {
  const x = filled(ROWS * INPUTS, 1);
  const next = filled(ROWS * INPUTS, 4);
  const dzT = filled(UNITS * ROWS, 3).map((value) => value * 1e-6);
  const kernel = filled(UNITS * INPUTS, 2);
  const [first, second] = [new Float32Array(UNITS * INPUTS), new Float32Array(UNITS * INPUTS)];
  const zT = new Float32Array(UNITS * ROWS);
  const kept = new Float32Array(ROWS * INPUTS);
  const forward = (squares: boolean) => ({ input: next, rows: ROWS, zT, squares, keep: kept });
  const runs: Array<[string, () => void]> = [
    ['tutorial SGD: update + forward (a step)', () => addon.sgdKernelUpdate(kernel, first, dzT, x, UNITS, INPUTS, ROWS, 0.9, 0, CHUNK, forward(false))],
    ['tutorial SGD, L2: update + forward + Σw²', () => addon.sgdKernelUpdate(kernel, first, dzT, x, UNITS, INPUTS, ROWS, 0.9, -1e-7, CHUNK, forward(true))],
    ['Adam: update + forward (a step)', () => addon.adamKernelUpdate(kernel, first, second, dzT, x, UNITS, INPUTS, ROWS, 1e-6, 0.9, 0.999, 1e-7, 0, CHUNK, forward(false))],
    ['tutorial SGD: update alone', () => addon.sgdKernelUpdate(kernel, first, dzT, x, UNITS, INPUTS, ROWS, 0.9, 0, CHUNK, null)],
    ['forward alone', () => addon.kernelForward(kernel, UNITS, INPUTS, CHUNK, forward(false))],
  ];
  console.log(`passes over the ${INPUTS} × ${UNITS} kernel, ${repeats} alternating calls each (load ${load()}):`);
  console.log('| pass | oneDNN GEMMs ms (min) | fused ms (min) | fused / oneDNN |\n|---|---|---|---|');
  for (const [name, run] of runs) {
    const times: Record<'onednn' | 'fused', number[]> = { onednn: [], fused: [] };
    for (const fused of [false, true]) {
      setFused(addon, fused);
      run(); // warm-up: pages and scratch
    }
    for (let i = 0; i < repeats; i++)
      for (const fused of [false, true]) {
        setFused(addon, fused);
        const start = performance.now();
        run();
        times[fused ? 'fused' : 'onednn'].push(performance.now() - start);
      }
    const [a, b] = [median(times.onednn), median(times.fused)];
    console.log(`| ${name} | ${a.toFixed(1)} (${Math.min(...times.onednn).toFixed(1)}) | ${b.toFixed(1)} (${Math.min(...times.fused).toFixed(1)}) | ${(b / a).toFixed(2)} |`);
  }
}

/**
 * The batch-32 step's rows/s on each path: one head, the path switched step by step (a step's
 * pass then applies the previous step's update on the other path: same work, same shapes), each
 * path's median step time over `steps` steps of it.
 */
function stepRowsPerSecond(addon: DenseAddon, optimizer: OptimizerSpec, steps: number): Record<'onednn' | 'fused', number> {
  const head = createHead({ kind: 'mlp', inputDim: INPUTS, classes: 2, hidden: [256, 16] }, 42, optimizer, undefined, { engine: 'onednn' });
  const batches = [1, 2, 3].map((seed) => filled(ROWS * INPUTS, seed));
  const labels = Int32Array.from({ length: ROWS }, (_, i) => i % 2);
  for (let s = 0; s < 2; s++) head.trainBatch(batches[s], labels);
  const times: Record<'onednn' | 'fused', number[]> = { onednn: [], fused: [] };
  for (let s = 0; s < 2 * steps; s++) {
    const fused = s % 2 === 1;
    setFused(addon, fused);
    const start = performance.now();
    head.trainBatch(batches[s % batches.length], labels);
    times[fused ? 'fused' : 'onednn'].push(performance.now() - start);
  }
  head.dispose();
  return { onednn: (1000 * ROWS) / median(times.onednn), fused: (1000 * ROWS) / median(times.fused) };
}

async function main(): Promise<void> {
  const [repeats, steps, runs] = [Number(process.argv[2] ?? 15), Number(process.argv[3] ?? 20), Number(process.argv[4] ?? 3)];
  await selectBackend('wasm', { log: () => undefined });
  const addon = requireDenseAddon();
  passes(addon, repeats);
  for (const [name, optimizer] of [['tutorial SGD', TUTORIAL_SGD], ['Adam', { kind: 'adam', learningRate: 1e-3 }]] as Array<[string, OptimizerSpec]>) {
    for (let r = 0; r < runs; r++) {
      const before = load();
      const rows = stepRowsPerSecond(addon, optimizer, steps);
      console.log(`step ${name}, run ${r + 1}, median of ${steps} steps each (load ${before} → ${load()}): oneDNN GEMM passes ${rows.onednn.toFixed(0)} rows/s, fused ${rows.fused.toFixed(0)} rows/s (${(rows.fused / rows.onednn).toFixed(2)}x)`);
    }
  }
  setFused(addon, true);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
