import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { ShardCorruptError, ShardError } from './errors';
import { readAt } from './file-io';
import { fromFloat16 } from './float16';
import { readNpyFileHeader, withPath } from './npy';
import { assertLittleEndianHost } from './npy-dtype';
import {
  checkShardHeader,
  featuresShapeOf,
  SHARD_FILE_NAMES,
  shardFilePath,
  shardFileSpecs,
  type ShardDtype,
  type ShardFileSpec,
} from './shard-layout';

export interface ShardReaderOptions {
  /**
   * Read only the first `rows` rows, e.g. those a database records as committed while a writer
   * may still be appending. More than the files hold is a `ShardCorruptError`.
   */
  rows?: number;
}

/** Consecutive rows of a shard, from row `start`. */
export interface ShardBatch {
  start: number;
  /** rows × dim values, row after row (float16 shards are widened to float32). */
  features: Float32Array;
  labels: Int32Array;
  imageIds: BigInt64Array;
}

/** Consecutive rows of a shard as stored: float16 features stay half precision bit patterns. */
export interface StoredShardBatch {
  start: number;
  dtype: ShardDtype;
  /** rows × dim values, row after row: float16 bit patterns, or float32 values. */
  features: Uint16Array | Float32Array;
  labels: Int32Array;
  imageIds: BigInt64Array;
}

interface OpenShardFile {
  spec: ShardFileSpec;
  path: string;
  handle: FileHandle;
  headerLength: number;
}

/**
 * Reads rows of a shard in batches with positioned reads, never a whole file, so shards larger
 * than memory can be trained on. The row count is fixed at open.
 */
export class ShardReader {
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly rows: number,
    readonly dim: number,
    readonly dtype: ShardDtype,
    private readonly files: readonly OpenShardFile[],
  ) {}

  /**
   * Opens the shard in `dir`. Its rows are the fewest any header declares (while a writer
   * appends, headers are rewritten one after another), or `options.rows`.
   */
  static async open(dir: string, options: ShardReaderOptions = {}): Promise<ShardReader> {
    assertLittleEndianHost();
    const featuresPath = path.join(dir, SHARD_FILE_NAMES.features);
    const opened: FileHandle[] = [];
    try {
      const featuresHandle = await fs.open(featuresPath, 'r');
      opened.push(featuresHandle);
      const featuresHeader = await withPath(featuresPath, () => readNpyFileHeader(featuresHandle));
      const { dim, dtype } = featuresShapeOf(featuresHeader, featuresPath);
      const files: OpenShardFile[] = [];
      const declared: number[] = [];
      for (const spec of shardFileSpecs(dim, dtype)) {
        const filePath = shardFilePath(dir, spec);
        const handle = spec.key === 'features' ? featuresHandle : await fs.open(filePath, 'r');
        if (handle !== featuresHandle) opened.push(handle);
        const header = spec.key === 'features' ? featuresHeader : await withPath(filePath, () => readNpyFileHeader(handle));
        declared.push(checkShardHeader(spec, header, filePath));
        files.push({ spec, path: filePath, handle, headerLength: header.headerLength });
      }
      const rows = Math.min(...declared);
      if (options.rows !== undefined) {
        if (!Number.isSafeInteger(options.rows) || options.rows < 0) {
          throw new ShardError(`rows must be a non-negative integer, got ${options.rows}`);
        }
        if (options.rows > rows) throw new ShardCorruptError(`${dir} holds ${rows} rows, fewer than the ${options.rows} asked for`);
      }
      const shard = new ShardReader(dir, options.rows ?? rows, dim, dtype, files);
      await shard.checkLengths();
      return shard;
    } catch (error) {
      await Promise.allSettled(opened.map((handle) => handle.close()));
      throw error;
    }
  }

  /**
   * Reads `count` rows from row `start`, fewer where the shard ends first (none at the end).
   */
  async read(start: number, count: number): Promise<ShardBatch> {
    const stored = await this.readStored(start, count);
    const { features } = stored;
    return { start, features: features instanceof Uint16Array ? fromFloat16(features) : features, labels: stored.labels, imageIds: stored.imageIds };
  }

  /**
   * `read` without widening float16: for a reader that sends the rows on (half the bytes) or
   * decodes them straight into a buffer of its own. `features: false` reads the labels and image
   * ids only (features empty), for a reader that wants nothing else.
   */
  async readStored(start: number, count: number, options: { features?: boolean } = {}): Promise<StoredShardBatch> {
    if (this.closed) throw new ShardError(`shard reader for ${this.dir} is closed`);
    if (!Number.isSafeInteger(start) || start < 0 || start > this.rows) {
      throw new ShardError(`start ${start} is outside the shard's ${this.rows} rows`);
    }
    if (!Number.isSafeInteger(count) || count < 0) throw new ShardError(`count must be a non-negative integer, got ${count}`);
    const rows = Math.min(count, this.rows - start);
    const [features, labels, imageIds] = this.files;
    const values = options.features === false ? 0 : rows * this.dim;
    // Not zero-filled first: the read fills every byte or fails (a short read is corrupt), so
    // zeroing would only write each byte of a 1 MiB reply once more.
    const bytes = Buffer.allocUnsafeSlow(values * (this.dtype === 'float16' ? 2 : 4)).buffer;
    const raw = this.dtype === 'float16' ? new Uint16Array(bytes, 0, values) : new Float32Array(bytes, 0, values);
    const labelValues = new Int32Array(rows);
    const idValues = new BigInt64Array(rows);
    await Promise.all([
      values > 0 ? this.readRows(features!, raw, start) : undefined,
      this.readRows(labels!, labelValues, start),
      this.readRows(imageIds!, idValues, start),
    ]);
    return { start, dtype: this.dtype, features: raw, labels: labelValues, imageIds: idValues };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.files.map((file) => file.handle.close()));
  }

  private async readRows(file: OpenShardFile, into: ArrayBufferView, start: number): Promise<void> {
    const read = await readAt(file.handle, into, file.headerLength + start * file.spec.rowBytes);
    if (read < into.byteLength) {
      throw new ShardCorruptError(`${file.path} ends before row ${start + into.byteLength / file.spec.rowBytes}`);
    }
  }

  /** Every file must hold the bytes of all rows its header declares. */
  private async checkLengths(): Promise<void> {
    for (const file of this.files) {
      const { size } = await file.handle.stat();
      const needed = file.headerLength + this.rows * file.spec.rowBytes;
      if (size < needed) {
        throw new ShardCorruptError(`${file.path} has ${size} bytes, fewer than the ${needed} its ${this.rows} rows need`);
      }
    }
  }
}
