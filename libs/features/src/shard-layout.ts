import path from 'node:path';
import { ShardError } from './errors';
import type { NpyHeader } from './npy';
import { npyItemSize, type NpyDtype } from './npy-dtype';

/**
 * A shard is a folder of three `.npy` files whose rows line up: row i of `features.npy` [N, D]
 * is the feature vector of the image `image_ids.npy` [N] (int64) names, whose class index is
 * `labels.npy` [N] (int32). Each file stands alone, so `numpy.load` reads any of them.
 */
export const SHARD_FILE_NAMES = {
  features: 'features.npy',
  labels: 'labels.npy',
  imageIds: 'image_ids.npy',
} as const;

export type ShardFileKey = keyof typeof SHARD_FILE_NAMES;

/** How feature values are stored. */
export type ShardDtype = 'float16' | 'float32';

export const SHARD_DTYPES: readonly ShardDtype[] = ['float16', 'float32'];

const FEATURE_NPY_DTYPES: Readonly<Record<ShardDtype, NpyDtype>> = { float16: '<f2', float32: '<f4' };

/** One of a shard's files, as the shard's dim and dtype make it. */
export interface ShardFileSpec {
  key: ShardFileKey;
  name: string;
  dtype: NpyDtype;
  /** Bytes one row takes in this file. */
  rowBytes: number;
  /** The array shape for a number of rows. */
  shapeFor(rows: number): number[];
}

/** The three files of a shard with feature vectors of `dim` values stored as `dtype`. */
export function shardFileSpecs(dim: number, dtype: ShardDtype): readonly ShardFileSpec[] {
  checkShardShape(dim, dtype);
  const featureDtype = FEATURE_NPY_DTYPES[dtype];
  return [
    {
      key: 'features',
      name: SHARD_FILE_NAMES.features,
      dtype: featureDtype,
      rowBytes: dim * npyItemSize(featureDtype),
      shapeFor: (rows) => [rows, dim],
    },
    { key: 'labels', name: SHARD_FILE_NAMES.labels, dtype: '<i4', rowBytes: 4, shapeFor: (rows) => [rows] },
    { key: 'imageIds', name: SHARD_FILE_NAMES.imageIds, dtype: '<i8', rowBytes: 8, shapeFor: (rows) => [rows] },
  ];
}

export function checkShardShape(dim: number, dtype: ShardDtype): void {
  if (!Number.isSafeInteger(dim) || dim < 1) throw new ShardError(`dim must be a positive integer, got ${dim}`);
  if (!SHARD_DTYPES.includes(dtype)) {
    throw new ShardError(`dtype must be one of ${SHARD_DTYPES.join(', ')}, got ${String(dtype)}`);
  }
}

/** The dim and dtype a features file header describes. */
export function featuresShapeOf(header: NpyHeader, filePath: string): { dim: number; dtype: ShardDtype } {
  const dtype = SHARD_DTYPES.find((candidate) => FEATURE_NPY_DTYPES[candidate] === header.dtype);
  if (dtype === undefined) throw new ShardError(`${filePath} holds ${header.dtype} values, not float16 or float32`);
  if (header.shape.length !== 2 || header.shape[1]! < 1) {
    throw new ShardError(`${filePath} has shape (${header.shape.join(', ')}), not (rows, dim)`);
  }
  return { dim: header.shape[1]!, dtype };
}

/** Checks that a file's header fits its place in the shard; returns the rows it declares. */
export function checkShardHeader(spec: ShardFileSpec, header: NpyHeader, filePath: string): number {
  if (header.dtype !== spec.dtype) {
    throw new ShardError(`${filePath} holds ${header.dtype} values, the shard needs ${spec.dtype}`);
  }
  const rows = header.shape[0] ?? -1;
  const expected = spec.shapeFor(rows);
  if (header.shape.length !== expected.length || header.shape.some((size, i) => size !== expected[i])) {
    const wanted = spec.key === 'features' ? `(rows, ${expected[1]})` : '(rows,)';
    throw new ShardError(`${filePath} has shape (${header.shape.join(', ')}), the shard needs ${wanted}`);
  }
  if (header.fortranOrder) throw new ShardError(`${filePath} is in Fortran order; shards are in C order`);
  return rows;
}

export function shardFilePath(dir: string, spec: ShardFileSpec): string {
  return path.join(dir, spec.name);
}
