import { ShardError } from './errors';
import { fromFloat16 } from './float16';
import { formatFloat32 } from './format-float32';
import { encodeNpyHeader } from './npy';
import type { NpyDtype } from './npy-dtype';
import { checkShardShape, shardFileSpecs, type ShardDtype, type ShardFileKey } from './shard-layout';

/**
 * The exports of a split as one file: one of its arrays as a `.npy`, or the tutorial's CSV. They
 * are made from shard rows as they arrive (from the feature stores over the bus), a batch at a
 * time, so a split far larger than memory exports in constant memory; everything the `.npy`
 * header needs (dtype, dim, rows) is known before the first row comes.
 */

/** The arrays of a shard, by their file names (`features.npy`, `labels.npy`, `image_ids.npy`). */
export const NPY_EXPORT_ARRAYS = ['features', 'labels', 'image_ids'] as const;

export type NpyExportArray = (typeof NPY_EXPORT_ARRAYS)[number];

/** Consecutive rows as a shard stores them: float16 features as bit patterns. */
export interface StoredRows {
  dtype: ShardDtype;
  rows: number;
  features: Uint16Array | Float32Array;
  labels: Int32Array;
  imageIds: ArrayLike<number>;
}

/** The shape of what is exported: the feature set's dtype and dim, and the rows in all. */
export interface RowsExportShape {
  dtype: ShardDtype;
  dim: number;
  rows: number;
}

export interface NpyRowsPlan {
  array: NpyExportArray;
  dtype: NpyDtype;
  /** `[rows, dim]` for features, `[rows]` otherwise. */
  shape: number[];
  rows: number;
  /** Length of the whole file, header included. */
  bytes: number;
  /** The file: the header, then each batch's values of `array`, checked against the shape. */
  chunks(batches: AsyncIterable<StoredRows>): AsyncGenerator<Buffer, void, undefined>;
}

const FILE_KEYS: Readonly<Record<NpyExportArray, ShardFileKey>> = { features: 'features', labels: 'labels', image_ids: 'imageIds' };

/**
 * The `.npy` of one array of `shape.rows` rows, planned (header, length) before any row is read:
 * the very bytes of the shards' files of that array joined (features `<f2` or `<f4` as stored,
 * labels `<i4`, image ids `<i8`).
 */
export function planNpyRows(array: NpyExportArray, shape: RowsExportShape): NpyRowsPlan {
  checkShardShape(shape.dim, shape.dtype);
  if (!Number.isSafeInteger(shape.rows) || shape.rows < 0) throw new ShardError(`rows must be a non-negative integer, got ${shape.rows}`);
  if (!NPY_EXPORT_ARRAYS.includes(array)) throw new ShardError(`array must be one of ${NPY_EXPORT_ARRAYS.join(', ')}, got ${String(array)}`);
  const key = FILE_KEYS[array];
  const spec = shardFileSpecs(shape.dim, shape.dtype).find((s) => s.key === key)!;
  const npyShape = spec.shapeFor(shape.rows);
  const header = encodeNpyHeader({ dtype: spec.dtype, shape: npyShape, fortranOrder: false });
  const bytes = header.length + shape.rows * spec.rowBytes;
  if (!Number.isSafeInteger(bytes)) throw new ShardError(`${shape.rows} rows are too many for one file`);
  return {
    array,
    dtype: spec.dtype,
    shape: npyShape,
    rows: shape.rows,
    bytes,
    async *chunks(batches) {
      yield Buffer.from(header);
      let rows = 0;
      for await (const batch of batches) {
        checkBatch(batch, shape, rows, key === 'features');
        rows += batch.rows;
        yield valuesOf(batch, key);
      }
      if (rows !== shape.rows) throw new ShardError(`${rows} rows came, ${shape.rows} were planned`);
    },
  };
}

export interface CsvRowsOptions {
  /** Text is yielded once it reaches about this many characters (default 2^20), always whole lines. */
  chunkChars?: number;
}

/**
 * The CSV of the Keras tutorial "Feature extraction on large datasets" (`extract_features.py`):
 * one line per image, `label,v1,v2,...,vD`, the label being the class index, no header line.
 * Yielded as strings of whole lines; float16 features are written by their float32 values.
 */
export async function* csvOfRows(batches: AsyncIterable<StoredRows>, shape: RowsExportShape, options: CsvRowsOptions = {}): AsyncGenerator<string, void, undefined> {
  checkShardShape(shape.dim, shape.dtype);
  const chunkChars = options.chunkChars ?? 1 << 20;
  if (!Number.isSafeInteger(chunkChars) || chunkChars < 1) throw new ShardError(`chunkChars must be a positive integer, got ${chunkChars}`);
  const { dim } = shape;
  let lines: string[] = [];
  let chars = 0;
  let rows = 0;
  for await (const batch of batches) {
    checkBatch(batch, shape, rows, true);
    rows += batch.rows;
    const features = batch.features instanceof Uint16Array ? fromFloat16(batch.features) : batch.features;
    for (let row = 0; row < batch.rows; row++) {
      const line = csvLine(batch.labels[row]!, features.subarray(row * dim, (row + 1) * dim));
      lines.push(line);
      chars += line.length;
      if (chars >= chunkChars) {
        yield lines.join('');
        lines = [];
        chars = 0;
      }
    }
  }
  if (lines.length > 0) yield lines.join('');
  if (rows !== shape.rows) throw new ShardError(`${rows} rows came, ${shape.rows} were planned`);
}

/** One CSV line, newline included: the label, then each value as the shortest decimal that reads back as the same float32. */
export function csvLine(label: number, features: Float32Array): string {
  const fields = new Array<string>(features.length + 1);
  fields[0] = String(label);
  for (let i = 0; i < features.length; i++) fields[i + 1] = formatFloat32(features[i]!);
  return `${fields.join(',')}\n`;
}

/** A batch fits the shape and follows the rows before it; its features are checked where they are used. */
function checkBatch(batch: StoredRows, shape: RowsExportShape, before: number, features: boolean): void {
  const at = `rows ${before} to ${before + batch.rows}`;
  if (batch.dtype !== shape.dtype) throw new ShardError(`${at} are ${batch.dtype}, the feature set stores ${shape.dtype}`);
  if (features && batch.features.length !== batch.rows * shape.dim) throw new ShardError(`${at} hold ${batch.features.length} values, not ${batch.rows} of ${shape.dim}`);
  if (batch.labels.length !== batch.rows || batch.imageIds.length !== batch.rows) throw new ShardError(`${at} have ${batch.labels.length} labels and ${batch.imageIds.length} image ids`);
  if (before + batch.rows > shape.rows) throw new ShardError(`${at} go past the ${shape.rows} planned`);
}

/** The batch's values of one array as little-endian bytes, as the shard files hold them. */
function valuesOf(batch: StoredRows, key: ShardFileKey): Buffer {
  const values = key === 'features' ? batch.features : key === 'labels' ? batch.labels : BigInt64Array.from(Array.from(batch.imageIds, (id) => BigInt(id)));
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}
