import { createHash, type Hash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { syncDirectory } from '@featx/files';
import { ShardCorruptError, ShardError } from './errors';
import { readAt, writeAt } from './file-io';
import { toFloat16 } from './float16';
import { encodeNpyHeader, readNpyFileHeader, withPath } from './npy';
import { assertLittleEndianHost } from './npy-dtype';
import {
  checkShardHeader,
  checkShardShape,
  shardFilePath,
  shardFileSpecs,
  type ShardDtype,
  type ShardFileSpec,
} from './shard-layout';

export interface ShardWriterOptions {
  /** Values per feature vector. */
  dim: number;
  dtype: ShardDtype;
  /**
   * Rows the caller has recorded as committed (e.g. in its database). Every file is cut back to
   * exactly this many rows, dropping rows written but never committed; fewer complete rows on
   * disk is a `ShardCorruptError`. Without it, the shard keeps the rows that all three files
   * hold completely and declare in their headers.
   */
  committedRows?: number;
}

/** Rows to append, in order; row i of each field belongs together. */
export interface ShardRows {
  /**
   * rows × dim values, row after row: float32 values (rounded to half for a float16 shard), or
   * raw half bit patterns for a float16 shard.
   */
  features: Float32Array | Uint16Array;
  /** Class index of each row. */
  labels: Int32Array | readonly number[];
  imageIds: BigInt64Array | readonly (number | bigint)[];
}

export interface SealedShardFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface SealedShard {
  rows: number;
  /** Bytes of the three files together. */
  bytes: number;
  /**
   * SHA-256 (hex) of the three files' bytes one after another, in the order of `files`
   * (features, labels, image ids): `cat features.npy labels.npy image_ids.npy | sha256sum`.
   */
  sha256: string;
  files: SealedShardFile[];
}

interface OpenShardFile {
  spec: ShardFileSpec;
  path: string;
  handle: FileHandle;
  headerLength: number;
}

/** How one file was found at open. */
interface FoundFile {
  spec: ShardFileSpec;
  path: string;
  handle: FileHandle;
  headerLength: number;
  headerRows: number;
  completeRows: number;
  size: number;
}

const HASH_CHUNK_BYTES = 1 << 20;

/**
 * Appends rows to a shard. Each append writes the new rows after the last ones in all three
 * files, syncs them, then rewrites each header's row count in place and syncs again, so a
 * header never counts rows that are not on disk and the files stay loadable by
 * `numpy.load(path, mmap_mode='r')` between appends. One writer per shard at a time: nothing
 * here locks the folder against a second process.
 */
export class ShardWriter {
  private rowCount: number;
  private tail: Promise<unknown> = Promise.resolve();
  private failure: unknown;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly dim: number,
    readonly dtype: ShardDtype,
    private readonly files: readonly OpenShardFile[],
    rows: number,
    /** Bytes cut off the files at open: rows never committed, or a row torn by a crash. */
    readonly discardedBytes: number,
  ) {
    this.rowCount = rows;
  }

  /** Rows in the shard, appends that have returned included. */
  get rows(): number {
    return this.rowCount;
  }

  /** Bytes of the three files together (headers included) at the current row count. */
  get bytes(): number {
    return this.files.reduce((total, file) => total + file.headerLength + this.rowCount * file.spec.rowBytes, 0);
  }

  /**
   * Opens the shard in `dir`, creating the folder and missing files, and brings the files back
   * to a consistent state: exactly `committedRows` rows (or, without it, the rows all files
   * hold completely) with headers saying so. Throws `ShardError` when the files are of another
   * dim or dtype, `ShardCorruptError` when committed rows are missing.
   */
  static async open(dir: string, options: ShardWriterOptions): Promise<ShardWriter> {
    assertLittleEndianHost();
    const { dim, dtype, committedRows } = options;
    checkShardShape(dim, dtype);
    if (committedRows !== undefined && (!Number.isSafeInteger(committedRows) || committedRows < 0)) {
      throw new ShardError(`committedRows must be a non-negative integer, got ${committedRows}`);
    }
    await fs.mkdir(dir, { recursive: true });
    const specs = shardFileSpecs(dim, dtype);
    const found: (FoundFile | undefined)[] = [];
    try {
      for (const spec of specs) found.push(await findFile(shardFilePath(dir, spec), spec));
      const rows = rowsToKeep(found, specs, dir, committedRows);
      const files: OpenShardFile[] = [];
      let discardedBytes = 0;
      let created = false;
      for (const [i, spec] of specs.entries()) {
        const existing = found[i];
        if (existing) {
          discardedBytes += await cutBack(existing, rows);
          files.push(existing);
        } else {
          files.push(await createFile(shardFilePath(dir, spec), spec));
          found[i] = { ...files[i]!, headerRows: 0, completeRows: 0, size: 0 };
          created = true;
        }
      }
      if (created) await syncDirectory(dir);
      return new ShardWriter(dir, dim, dtype, files, rows, discardedBytes);
    } catch (error) {
      await Promise.allSettled(found.map((file) => file?.handle.close()));
      throw error;
    }
  }

  /**
   * Appends rows to the three files and syncs them to disk before it resolves, with the shard's
   * new row count. Calls made while one runs wait their turn. If writing fails the writer is
   * broken: reopen the shard with the committed row count.
   */
  append(rows: ShardRows): Promise<number> {
    const run = this.tail.then(() => this.appendNow(rows));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Waits for appends in flight, syncs, hashes the files and closes the writer (the shard can
   * be opened again to append more).
   */
  async seal(): Promise<SealedShard> {
    await this.tail;
    this.checkUsable();
    try {
      const all = createHash('sha256');
      const files: SealedShardFile[] = [];
      for (const file of this.files) {
        await file.handle.datasync();
        const bytes = file.headerLength + this.rowCount * file.spec.rowBytes;
        files.push({ name: file.spec.name, bytes, sha256: await hashFile(file, bytes, all) });
      }
      const bytes = files.reduce((total, file) => total + file.bytes, 0);
      return { rows: this.rowCount, bytes, sha256: all.digest('hex'), files };
    } finally {
      await this.close();
    }
  }

  /** Waits for appends in flight and closes the files. Safe to call more than once. */
  async close(): Promise<void> {
    await this.tail;
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.files.map((file) => file.handle.close()));
  }

  private checkUsable(): void {
    if (this.closed) throw new ShardError(`shard writer for ${this.dir} is closed`);
    if (this.failure !== undefined) {
      throw new ShardError(
        `an earlier append to ${this.dir} failed (${String(this.failure)}); reopen the shard with the committed rows`,
      );
    }
  }

  private async appendNow(rows: ShardRows): Promise<number> {
    this.checkUsable();
    const values = this.toFileValues(rows);
    const added = values[1]!.length;
    if (added === 0) return this.rowCount;
    const total = this.rowCount + added;
    try {
      await Promise.all(
        this.files.map((file, i) =>
          writeAt(file.handle, values[i]!, file.headerLength + this.rowCount * file.spec.rowBytes),
        ),
      );
      // Data durable first: then a header on disk never counts rows that are not.
      await Promise.all(this.files.map((file) => file.handle.datasync()));
      await Promise.all(this.files.map((file) => writeHeader(file, total)));
      await Promise.all(this.files.map((file) => file.handle.datasync()));
    } catch (error) {
      this.failure = error;
      throw error;
    }
    this.rowCount = total;
    return total;
  }

  /** The appended values of each file, in `files` order, checked and converted to its dtype. */
  private toFileValues(rows: ShardRows): [Float32Array | Uint16Array, Int32Array, BigInt64Array] {
    const labels = toLabels(rows.labels);
    const imageIds = toImageIds(rows.imageIds);
    const count = labels.length;
    if (imageIds.length !== count) throw new ShardError(`${count} labels but ${imageIds.length} image ids`);
    let features = rows.features;
    if (features instanceof Float32Array) {
      if (this.dtype === 'float16') features = toFloat16(features);
    } else if (!(features instanceof Uint16Array) || this.dtype !== 'float16') {
      throw new ShardError(
        `features must be a Float32Array${this.dtype === 'float16' ? ' or a Uint16Array of halves' : ''}, ` +
          `got ${(rows.features as object)?.constructor?.name ?? typeof rows.features}`,
      );
    }
    if (features.length !== count * this.dim) {
      throw new ShardError(`${count} rows of dim ${this.dim} need ${count * this.dim} feature values, got ${features.length}`);
    }
    return [features, labels, imageIds];
  }
}

async function findFile(filePath: string, spec: ShardFileSpec): Promise<FoundFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await fs.open(filePath, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const header = await withPath(filePath, () => readNpyFileHeader(handle));
    const headerRows = checkShardHeader(spec, header, filePath);
    const { size } = await handle.stat();
    const completeRows = Math.floor((size - header.headerLength) / spec.rowBytes);
    return { spec, path: filePath, handle, headerLength: header.headerLength, headerRows, completeRows, size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The row count every file is brought to. */
function rowsToKeep(
  found: readonly (FoundFile | undefined)[],
  specs: readonly ShardFileSpec[],
  dir: string,
  committedRows: number | undefined,
): number {
  if (committedRows !== undefined) {
    for (const [i, file] of found.entries()) {
      if (!file && committedRows > 0) {
        throw new ShardCorruptError(`${shardFilePath(dir, specs[i]!)} is missing, yet ${committedRows} rows were committed`);
      }
      if (file && file.completeRows < committedRows) {
        throw new ShardCorruptError(
          `${file.path} holds ${file.completeRows} complete rows, yet ${committedRows} were committed`,
        );
      }
    }
    return committedRows;
  }
  const present = found.filter((file): file is FoundFile => file !== undefined);
  const missing = found.findIndex((file) => file === undefined);
  // Files are all created before the first append, so a missing one beside rows is damage.
  if (missing >= 0 && present.some((file) => file.headerRows > 0 || file.completeRows > 0)) {
    throw new ShardCorruptError(`${shardFilePath(dir, specs[missing]!)} is missing while other files of the shard hold rows`);
  }
  if (present.length === 0) return 0;
  return Math.min(...present.map((file) => Math.min(file.headerRows, file.completeRows)));
}

/** Truncates a file to `rows` rows and rewrites its header if either differs; returns bytes cut. */
async function cutBack(file: FoundFile, rows: number): Promise<number> {
  const length = file.headerLength + rows * file.spec.rowBytes;
  if (file.headerRows === rows && file.size === length) return 0;
  await file.handle.truncate(length);
  await writeHeader(file, rows);
  await file.handle.datasync();
  return Math.max(0, file.size - length);
}

/** Creates an empty file beside its final name and renames it, so no half-made file is ever seen. */
async function createFile(filePath: string, spec: ShardFileSpec): Promise<OpenShardFile> {
  const header = encodeNpyHeader({ dtype: spec.dtype, shape: spec.shapeFor(0), fortranOrder: false });
  const temporary = `${filePath}.tmp`;
  const handle = await fs.open(temporary, 'w+');
  try {
    await writeAt(handle, header, 0);
    await handle.datasync();
    await fs.rename(temporary, filePath);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return { spec, path: filePath, handle, headerLength: header.length };
}

async function writeHeader(file: OpenShardFile, rows: number): Promise<void> {
  const header = encodeNpyHeader({ dtype: file.spec.dtype, shape: file.spec.shapeFor(rows), fortranOrder: false }, file.headerLength);
  await writeAt(file.handle, header, 0);
}

/** Hashes the first `length` bytes of a file into its own hash and `all`; returns its hex digest. */
async function hashFile(file: OpenShardFile, length: number, all: Hash): Promise<string> {
  const own = createHash('sha256');
  const chunk = new Uint8Array(Math.min(HASH_CHUNK_BYTES, Math.max(length, 1)));
  for (let position = 0; position < length; ) {
    const piece = chunk.subarray(0, Math.min(chunk.length, length - position));
    const read = await readAt(file.handle, piece, position);
    if (read < piece.length) throw new ShardCorruptError(`${file.path} is shorter than its ${length} bytes`);
    own.update(piece);
    all.update(piece);
    position += read;
  }
  return own.digest('hex');
}

function toLabels(labels: ShardRows['labels']): Int32Array {
  if (labels instanceof Int32Array) return labels;
  if (!Array.isArray(labels)) throw new ShardError('labels must be an Int32Array or an array of numbers');
  for (const label of labels) {
    if (!Number.isInteger(label) || label < -0x80000000 || label > 0x7fffffff) {
      throw new ShardError(`label ${String(label)} is not a 32-bit integer`);
    }
  }
  return Int32Array.from(labels);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toImageIds(imageIds: ShardRows['imageIds']): BigInt64Array {
  if (imageIds instanceof BigInt64Array) return imageIds;
  if (!Array.isArray(imageIds)) throw new ShardError('imageIds must be a BigInt64Array or an array of integers');
  const ids = new BigInt64Array(imageIds.length);
  for (const [i, id] of imageIds.entries()) {
    if (typeof id === 'number' ? !Number.isSafeInteger(id) : typeof id !== 'bigint' || id < INT64_MIN || id > INT64_MAX) {
      throw new ShardError(`image id ${String(id)} is not a safe integer or a 64-bit bigint`);
    }
    ids[i] = BigInt(id);
  }
  return ids;
}
