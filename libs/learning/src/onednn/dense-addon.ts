import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { useFloat16Decoder } from '@featx/features';

/**
 * featx_dense.node (native/featx_dense.cc): oneDNN's GEMM and the fused kernel updates of the
 * `onednn` head engine, in place on Float32Arrays. Every function checks its arguments and throws
 * a TypeError or RangeError naming the bad one. Matrices are row-major.
 */
/** featx's own kernels (the fused passes, logisticObjective's blocks) by ISA; 'portable': oneDNN's passes and portable loops. */
export type KernelSet = 'avx512' | 'avx2' | 'portable';

export interface DenseAddon {
  /** C = α·op(A)·op(B) + β·C; op(A) m × k, op(B) k × n, C m × n (dnnl_sgemm). Offsets: subarray views. */
  gemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /**
   * forward.zT [units, rows] = kernel·forward.inputᵀ for kernel [units, inputs], in the tiles and
   * order of the updates' forward. Returns Σ kernel² if forward.squares, else 0.
   */
  kernelForward(kernel: Float32Array, units: number, inputs: number, chunk: number, forward: KernelForward): number;
  /**
   * One SGD step of kernel [units, inputs] from its layer's dZᵀ [units, rows] (−lr_t and the row
   * scale folded in) and input [rows, inputs], g = dZᵀ·input: with `velocity` v = m·v + g + decay·w,
   * w += v; without (null, momentum 0) w += g + decay·w. Then, with `forward`, the forward of the
   * updated kernel in the same pass. Tiles of 256 units × `chunk` columns over the threads, each
   * tile's gradient GEMM, update and forward GEMM while it is in cache. Returns Σw² of the updated
   * weights if forward.squares, else 0.
   */
  sgdKernelUpdate(
    kernel: Float32Array,
    velocity: Float32Array | null,
    dzT: Float32Array,
    input: Float32Array,
    units: number,
    inputs: number,
    rows: number,
    momentum: number,
    kernelDecay: number,
    chunk: number,
    forward: KernelForward | null,
  ): number;
  /** Adam's step of a kernel, as sgdKernelUpdate: g += decay·w; m, v and w as optimizers.ts (α with the bias corrections). */
  adamKernelUpdate(
    kernel: Float32Array,
    m: Float32Array,
    v: Float32Array,
    dzT: Float32Array,
    input: Float32Array,
    units: number,
    inputs: number,
    rows: number,
    alpha: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    kernelDecay: number,
    chunk: number,
    forward: KernelForward | null,
  ): number;
  /**
   * The three passes above on a libuv worker thread (same arguments, same results): a promise of
   * what the sync call returns, rejected with its error. The JavaScript thread runs on meanwhile
   * (the trainer reads and decodes its next batch); the arrays may not be touched until it settles.
   */
  kernelForwardAsync(kernel: Float32Array, units: number, inputs: number, chunk: number, forward: KernelForward): Promise<number>;
  sgdKernelUpdateAsync(...args: Parameters<DenseAddon['sgdKernelUpdate']>): Promise<number>;
  adamKernelUpdateAsync(...args: Parameters<DenseAddon['adamKernelUpdate']>): Promise<number>;
  /** IEEE half bits → floats, exactly (F16C where the CPU has it); out.length === halves.length. */
  float16ToFloat32(halves: Uint16Array, out: Float32Array): void;
  /**
   * The multinomial logistic loss of rows held in memory and its gradient in one pass over the rows
   * (the L-BFGS fit's objective, ../logistic-lbfgs.ts): logits = X·kernelTᵀ + bias for features
   * [rows, dim] and kernelT [classes, dim] (classes = bias.length), R = scale·w·(softmax − onehot),
   * kernelGradient [classes, dim] = Rᵀ·X, biasGradient [classes] = Σ R. Returns Σ w·(−log p[label]).
   * sampleWeights: one a row, or null for 1. Labels outside [0, classes) are a RangeError. The same
   * results bit for bit whatever the threads; in the kernels info() names (AVX-512, AVX2 with FMA, or portable loops).
   */
  logisticObjective(
    features: Float32Array,
    rows: number,
    dim: number,
    labels: Int32Array,
    sampleWeights: Float32Array | null,
    kernelT: Float32Array,
    bias: Float32Array,
    scale: number,
    kernelGradient: Float32Array,
    biasGradient: Float32Array,
  ): number;
  /** y += α·x, over the threads. */
  axpy(alpha: number, x: Float32Array, y: Float32Array): void;
  /** OpenMP threads of later calls from this JavaScript thread (default: OMP_NUM_THREADS, else every core). */
  setThreads(threads: number): void;
  threads(): number;
  /**
   * Whether the kernel passes take the fused path (gradient, update and forward per register block,
   * in AVX-512 or AVX2 with FMA) rather than oneDNN's GEMMs tile by tile, and logisticObjective its
   * vector blocks rather than portable loops; returns whether they now do (never where the CPU has
   * neither ISA). On by default; off only for A/B benches and tests.
   */
  setFusedPasses(on: boolean): boolean;
  /**
   * The widest of featx's kernels to use, capped by the CPU's; returns those now in use. For the
   * tests (a CPU with AVX-512 checks the AVX2 kernels too); setFusedPasses(true) restores the widest.
   */
  setKernels(kernels: KernelSet): KernelSet;
  /**
   * oneDNN's version, the ISA code its kernels dispatch to (dnnl_cpu_isa_t), whether the kernel
   * passes are fused, the ISA of featx's own kernels (the fused passes, logisticObjective's blocks),
   * and the fused pass's column chunk in them (0 without them).
   */
  info(): { onednn: string; isa: number; fusedPasses: boolean; kernels: KernelSet; fusedChunkColumns: number };
}

/** The forward an update runs in its pass, with the weights it has just updated: zT [units, rows] = kernel·inputᵀ. */
export interface KernelForward {
  /** [rows, inputs]. */
  input: Float32Array;
  rows: number;
  zT: Float32Array;
  /** Return Σw² of the weights this forward used (the L2 penalty). */
  squares: boolean;
  /** Copy `input` here as it passes (the next update's input: no separate pass over the batch). */
  keep?: Float32Array | null;
}

/** Where node-gyp puts the addon (tools/build-native.js); tools/build.ts copies it into dist beside this module. */
export const DENSE_ADDON_PATH = path.join(__dirname, 'native', 'build', 'Release', 'featx_dense.node');

/** What to do when the addon is missing. */
export const DENSE_ADDON_HINT =
  'build it with `npm run build:native` (needs oneDNN: `apt-get install libdnnl-dev` on Debian, and a C++ compiler); at run time it needs libdnnl2 and libgomp1';

export type DenseAddonStatus = { available: true; addon: DenseAddon } | { available: false; reason: string };

let status: DenseAddonStatus | undefined;

/** Loads the addon on first use, once per process (also under jest: the result is kept in this module's state per registry). */
export function denseAddonStatus(): DenseAddonStatus {
  status ??= load();
  return status;
}

/**
 * Makes @featx/features' fromFloat16 use the addon's hardware conversion where the addon loads (the
 * trainer's read path decodes every float16 feature value); true if it does.
 */
export function registerNativeFloat16Decoder(): boolean {
  const current = denseAddonStatus();
  if (!current.available) return false;
  const { addon } = current;
  useFloat16Decoder((halves, out) => addon.float16ToFloat32(halves, out));
  return true;
}

/** The addon, or an error that says why it is not there and how to build it. */
export function requireDenseAddon(): DenseAddon {
  const current = denseAddonStatus();
  if (!current.available) throw new Error(`the onednn head engine is not available: ${current.reason}; ${DENSE_ADDON_HINT}`);
  return current.addon;
}

function load(): DenseAddonStatus {
  if (!existsSync(DENSE_ADDON_PATH)) return { available: false, reason: `${DENSE_ADDON_PATH} is not built` };
  // process.dlopen rather than require: the addon is context-aware (NAPI_MODULE_INIT), so jest's
  // per-file module registries may each load it, and tools/build.ts sees no require to follow.
  const module = { exports: {} as DenseAddon };
  try {
    process.dlopen(module, DENSE_ADDON_PATH);
  } catch (error) {
    return { available: false, reason: `${DENSE_ADDON_PATH} does not load (${(error as Error).message.split('\n')[0]})` };
  }
  // FEATX_FUSED_PASSES=0: oneDNN's tile-by-tile passes even where the fused ones run (the A/B of a
  // whole trainer process, bench/trainer-flat.ts; in one process, setFusedPasses).
  if (process.env.FEATX_FUSED_PASSES === '0') module.exports.setFusedPasses(false);
  return { available: true, addon: module.exports };
}
