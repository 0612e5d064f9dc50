import type { Pooling } from '@featx/vision';

/** Layout of a 4-D network output. */
export type FeatureLayout = 'NCHW' | 'NHWC';

/** See pool.js: a raw output pooled (or flattened in NHWC order) to row-major [N, D]. */
export function poolOutput(
  data: Float32Array,
  dims: readonly number[],
  layout: FeatureLayout,
  pooling: Pooling,
): { data: Float32Array; shape: [number, number] };

/** NHWC float32 batch → NCHW. */
export function nhwcToNchw(src: Float32Array, n: number, h: number, w: number, c: number, out?: Float32Array): Float32Array;
