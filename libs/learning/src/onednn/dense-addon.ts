import { existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * featx_dense.node (native/featx_dense.cc): oneDNN's GEMM and the fused kernel updates of the
 * `onednn` head engine, in place on Float32Arrays. Every function checks its arguments and throws
 * a TypeError or RangeError naming the bad one. Matrices are row-major.
 */
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
   * One SGD step of kernel [units, inputs] from its layer's dZᵀ [units, rows] (−lr_t and the row
   * scale folded in) and input, transposed, [inputs, rows]: with `velocity` v = m·v + g + decay·w,
   * w += v; without (null, momentum 0) w += g + decay·w. Column chunks of `chunk` inputs over the
   * threads, each chunk's GEMM fused with its update. Returns Σw² before the update if `squares`, else 0.
   */
  sgdKernelUpdate(
    kernel: Float32Array,
    velocity: Float32Array | null,
    dzT: Float32Array,
    inputT: Float32Array,
    units: number,
    inputs: number,
    rows: number,
    momentum: number,
    kernelDecay: number,
    squares: boolean,
    chunk: number,
  ): number;
  /** Adam's step of a kernel, as sgdKernelUpdate: g += decay·w; m, v and w as optimizers.ts (α with the bias corrections). */
  adamKernelUpdate(
    kernel: Float32Array,
    m: Float32Array,
    v: Float32Array,
    dzT: Float32Array,
    inputT: Float32Array,
    units: number,
    inputs: number,
    rows: number,
    alpha: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    kernelDecay: number,
    squares: boolean,
    chunk: number,
  ): number;
  /** dst [cols, rows] = srcᵀ, src [rows, cols]; tiled, over the threads. */
  transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array): void;
  /** y += α·x, over the threads. */
  axpy(alpha: number, x: Float32Array, y: Float32Array): void;
  /** OpenMP threads of later calls from this JavaScript thread (default: OMP_NUM_THREADS, else every core). */
  setThreads(threads: number): void;
  threads(): number;
  /** oneDNN's version and the ISA code its kernels dispatch to (dnnl_cpu_isa_t). */
  info(): { onednn: string; isa: number };
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
  return { available: true, addon: module.exports };
}
