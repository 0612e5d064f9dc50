import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { shardToCsv, type CsvExportOptions } from './csv-export';
import { ShardCorruptError, ShardError } from './errors';
import { readAt } from './file-io';
import { encodeNpyHeader, readNpyFileHeader, withPath, type NpyHeaderInfo } from './npy';
import type { NpyDtype } from './npy-dtype';
import { checkShardHeader, featuresShapeOf, SHARD_FILE_NAMES, shardFileSpecs, type ShardFileSpec } from './shard-layout';
import { ShardReader } from './shard-reader';

/**
 * Exports of a split's shards as one file: the shards' `.npy` arrays joined into one `.npy` per
 * array, or the tutorial's CSV. Either is streamed a chunk at a time, so a split far larger than
 * memory exports in constant memory.
 */

/** The arrays of a shard, by their file names (`features.npy`, `labels.npy`, `image_ids.npy`). */
export type NpyExportArray = 'features' | 'labels' | 'image_ids';

export const NPY_EXPORT_ARRAYS: readonly NpyExportArray[] = ['features', 'labels', 'image_ids'];

/** A shard to export: its folder and the rows committed in it (only those are exported). */
export interface ExportPart {
  dir: string;
  rows: number;
}

export interface ConcatNpyOptions {
  /** Bytes read from a shard file at a time, and the largest chunk yielded (default 1 MiB). */
  chunkBytes?: number;
}

/** The one `.npy` file the parts make together, checked before a byte of it is produced. */
export interface NpyConcatPlan {
  array: NpyExportArray;
  dtype: NpyDtype;
  /** `[rows, dim]` for features, `[rows]` otherwise. */
  shape: number[];
  rows: number;
  /** Length of the whole file, header included. */
  bytes: number;
  /** The file, chunk after chunk: the header, then each part's rows. Open files are closed when the consumer stops early. */
  chunks(): AsyncGenerator<Buffer, void, undefined>;
}

const DEFAULT_CHUNK_BYTES = 1 << 20;

const FILE_KEYS: Readonly<Record<NpyExportArray, keyof typeof SHARD_FILE_NAMES>> = {
  features: 'features',
  labels: 'labels',
  image_ids: 'imageIds',
};

interface CheckedFile {
  spec: ShardFileSpec;
  headerLength: number;
}

/**
 * Checks every part's file of `array` and plans their concatenation: the dtype is the first
 * part's, and every part must have the same (and, for features, the same dim); each must
 * declare and hold at least its committed rows. Throws `ShardError` (`ShardCorruptError` where
 * committed rows are missing) or the file system's error for a missing file.
 */
export async function planConcatNpy(
  parts: readonly ExportPart[],
  array: NpyExportArray,
  options: ConcatNpyOptions = {},
): Promise<NpyConcatPlan> {
  if (!NPY_EXPORT_ARRAYS.includes(array)) throw new ShardError(`array must be one of ${NPY_EXPORT_ARRAYS.join(', ')}, got ${String(array)}`);
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new ShardError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  if (parts.length === 0) throw new ShardError('nothing to concatenate: no shards');
  let first: ShardFileSpec | undefined;
  let rows = 0;
  for (const part of parts) {
    checkRows(part);
    const filePath = partFile(part, array);
    const handle = await fs.open(filePath, 'r');
    try {
      const { spec } = await checkPartFile(handle, filePath, part, array, first);
      first ??= spec;
    } finally {
      await handle.close();
    }
    rows += part.rows;
  }
  const spec = first!;
  const shape = spec.shapeFor(rows);
  const header = encodeNpyHeader({ dtype: spec.dtype, shape, fortranOrder: false });
  const bytes = header.length + rows * spec.rowBytes;
  if (!Number.isSafeInteger(bytes)) throw new ShardError(`${rows} rows are too many for one file`);
  return {
    array,
    dtype: spec.dtype,
    shape,
    rows,
    bytes,
    async *chunks() {
      yield Buffer.from(header);
      for (const part of parts) yield* partRows(part, array, spec, chunkBytes);
    },
  };
}

/**
 * One valid `.npy` file of the parts' `array`, as Buffers: a header with the total of the
 * committed rows, then each part's first `rows` rows in order, read with positioned reads a chunk
 * at a time (never a whole file in memory). The parts are checked before anything is yielded.
 */
export async function* concatNpy(
  parts: readonly ExportPart[],
  array: NpyExportArray,
  options: ConcatNpyOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  yield* (await planConcatNpy(parts, array, options)).chunks();
}

export type ConcatCsvOptions = Pick<CsvExportOptions, 'batchRows' | 'chunkChars'>;

/** The CSV the parts make together, checked before a line of it is produced. */
export interface CsvConcatPlan {
  rows: number;
  dim: number;
  /** The lines, `label,v1,...,vD`, in chunks of whole lines. */
  chunks(): AsyncGenerator<string, void, undefined>;
}

/**
 * Opens each part with `ShardReader.open(dir, { rows })` to check it holds its committed rows and
 * that all have the same dim, then plans the CSV of all of them (`shardToCsv`, one shard after
 * the other, each shard open only while it is read).
 */
export async function planConcatCsv(parts: readonly ExportPart[], options: ConcatCsvOptions = {}): Promise<CsvConcatPlan> {
  if (parts.length === 0) throw new ShardError('nothing to export: no shards');
  let dim: number | undefined;
  let rows = 0;
  for (const part of parts) {
    checkRows(part);
    const reader = await ShardReader.open(part.dir, { rows: part.rows });
    try {
      if (dim !== undefined && reader.dim !== dim) throw new ShardError(`${part.dir} has vectors of ${reader.dim} values, the shards before it ${dim}`);
      dim = reader.dim;
    } finally {
      await reader.close();
    }
    rows += part.rows;
  }
  return {
    rows,
    dim: dim!,
    async *chunks() {
      for (const part of parts) {
        if (part.rows === 0) continue;
        const reader = await ShardReader.open(part.dir, { rows: part.rows });
        try {
          if (reader.dim !== dim) throw new ShardError(`${part.dir} has vectors of ${reader.dim} values, the shards before it ${dim}`);
          yield* shardToCsv(reader, options);
        } finally {
          await reader.close();
        }
      }
    },
  };
}

/** The tutorial's CSV (`label,v1,...,vD` per row, no header) of the parts' committed rows, in order. */
export async function* concatCsv(parts: readonly ExportPart[], options: ConcatCsvOptions = {}): AsyncGenerator<string, void, undefined> {
  yield* (await planConcatCsv(parts, options)).chunks();
}

function checkRows(part: ExportPart): void {
  if (!Number.isSafeInteger(part.rows) || part.rows < 0) throw new ShardError(`rows of ${part.dir} must be a non-negative integer, got ${part.rows}`);
}

function partFile(part: ExportPart, array: NpyExportArray): string {
  return path.join(part.dir, SHARD_FILE_NAMES[FILE_KEYS[array]]);
}

/**
 * Checks a part's file against the shard layout, against the first part's dtype and shape, and
 * that it declares and holds the part's committed rows.
 */
async function checkPartFile(
  handle: FileHandle,
  filePath: string,
  part: ExportPart,
  array: NpyExportArray,
  first: ShardFileSpec | undefined,
): Promise<CheckedFile> {
  const header: NpyHeaderInfo = await withPath(filePath, () => readNpyFileHeader(handle));
  const spec = specOf(header, filePath, array);
  const declared = checkShardHeader(spec, header, filePath);
  if (first && (spec.dtype !== first.dtype || spec.rowBytes !== first.rowBytes)) {
    throw new ShardError(`${filePath} holds ${describe(spec)}, the shards before it ${describe(first)}; they cannot be joined`);
  }
  if (declared < part.rows) throw new ShardCorruptError(`${filePath} declares ${declared} rows, fewer than the ${part.rows} committed`);
  const needed = header.headerLength + part.rows * spec.rowBytes;
  const { size } = await handle.stat();
  if (size < needed) throw new ShardCorruptError(`${filePath} has ${size} bytes, fewer than the ${needed} its ${part.rows} committed rows need`);
  return { spec, headerLength: header.headerLength };
}

function describe(spec: ShardFileSpec): string {
  return spec.key === 'features' ? `${spec.dtype} vectors of ${spec.shapeFor(0)[1]} values` : `${spec.dtype} values`;
}

/** The layout a file of `array` must follow, from its header (features: its dim and dtype). */
function specOf(header: NpyHeaderInfo, filePath: string, array: NpyExportArray): ShardFileSpec {
  const key = FILE_KEYS[array];
  if (key === 'features') {
    const { dim, dtype } = featuresShapeOf(header, filePath);
    return shardFileSpecs(dim, dtype)[0]!;
  }
  return shardFileSpecs(1, 'float32').find((spec) => spec.key === key)!;
}

/** A part's first `rows` rows of its file, re-checked at open (a writer may have appended since the plan). */
async function* partRows(part: ExportPart, array: NpyExportArray, first: ShardFileSpec, chunkBytes: number): AsyncGenerator<Buffer, void, undefined> {
  if (part.rows === 0) return;
  const filePath = partFile(part, array);
  const handle = await fs.open(filePath, 'r');
  try {
    const { headerLength } = await checkPartFile(handle, filePath, part, array, first);
    const end = headerLength + part.rows * first.rowBytes;
    for (let position = headerLength; position < end; ) {
      const chunk = Buffer.allocUnsafe(Math.min(chunkBytes, end - position));
      const read = await readAt(handle, chunk, position);
      if (read < chunk.length) throw new ShardCorruptError(`${filePath} ends at byte ${position + read}, before the ${end} its committed rows need`);
      position += read;
      yield chunk;
    }
  } finally {
    await handle.close();
  }
}
