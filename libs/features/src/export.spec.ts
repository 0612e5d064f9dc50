import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ShardError } from './errors';
import { csvLine, csvOfRows, NPY_EXPORT_ARRAYS, planNpyRows, type NpyExportArray, type StoredRows } from './export';
import { toFloat16 } from './float16';
import { readNpy, readNpyHeader } from './npy';
import { SHARD_FILE_NAMES, type ShardDtype, type ShardFileKey } from './shard-layout';
import { ShardReader } from './shard-reader';
import { ShardWriter } from './shard-writer';
import { collect, makeTempDir, removeDir, sha256Of } from './testing/fixtures';
import { itWithNumpy, loadWithNumpy, runPython } from './testing/numpy';
import { concatRows, makeRows, type Rows } from './testing/shard-rows';

/**
 * The exports of a split, made from shard rows as the feature stores send them over the bus. What
 * they must hold is known apart from the export: the rows written to the shards, the shards' own
 * files (`readNpy`), their rows read back by `ShardReader`, and literal text.
 */
describe('exports of a split', () => {
  let root: string;
  let n = 0;
  beforeAll(async () => {
    root = await makeTempDir('featx-export-');
  });
  afterAll(() => removeDir(root));

  const DIM = 7;

  /** A shard folder, its rows committed in the database, and the rows written to it. */
  interface Part {
    dir: string;
    rows: number;
    written: Rows;
  }

  function slice(rows: Rows, start: number, end: number, dim: number): Rows {
    return { features: rows.features.slice(start * dim, end * dim), labels: rows.labels.slice(start, end), imageIds: rows.imageIds.slice(start, end) };
  }

  /** A shard of `rows` written in two appends, as a feature store makes it, committing `committed` of them. */
  async function shard(rows: Rows, dim: number, committed: number, dtype: ShardDtype): Promise<Part> {
    const dir = path.join(root, `shard-${n++}`);
    const writer = await ShardWriter.open(dir, { dim, dtype });
    const half = Math.floor(rows.labels.length / 2);
    await writer.append(slice(rows, 0, half, dim));
    await writer.append(slice(rows, half, rows.labels.length, dim));
    await writer.close();
    return { dir, rows: committed, written: rows };
  }

  /** Three shards of 21 committed rows; the second has 3 rows on disk that were never committed. */
  async function threeShards(dtype: ShardDtype): Promise<Part[]> {
    return [await shard(makeRows(11, DIM, 1, 0), DIM, 11, dtype), await shard(makeRows(9, DIM, 2, 100), DIM, 6, dtype), await shard(makeRows(4, DIM, 3, 200), DIM, 4, dtype)];
  }
  const ROWS = 21;

  /** The committed rows as written. */
  const committedRows = (parts: readonly Part[]): Rows => concatRows(parts.map((part) => slice(part.written, 0, part.rows, DIM)));

  /** The committed rows, in replies of up to `chunk` rows, as the bus client yields them. */
  async function* storedRows(parts: readonly Part[], chunk: number, features = true): AsyncGenerator<StoredRows> {
    for (const part of parts) {
      const reader = await ShardReader.open(part.dir, { rows: part.rows });
      try {
        for (let start = 0; start < part.rows; start += chunk) {
          const batch = await reader.readStored(start, Math.min(chunk, part.rows - start), { features });
          yield { dtype: batch.dtype, rows: batch.labels.length, features: batch.features, labels: batch.labels, imageIds: Array.from(batch.imageIds, Number) };
        }
      } finally {
        await reader.close();
      }
    }
  }

  /** `count` one-row float32 batches (row i: i, 0.5, 0.5, ...), counting those asked for and noting when the source is closed. */
  function watchedRows(count: number, dim: number) {
    const seen = { asked: 0, closed: false };
    async function* batches(): AsyncGenerator<StoredRows> {
      try {
        for (let i = 0; i < count; i++) {
          seen.asked++;
          const features = new Float32Array(dim).fill(0.5);
          features[0] = i;
          yield { dtype: 'float32', rows: 1, features, labels: Int32Array.of(0), imageIds: [i] };
        }
      } finally {
        seen.closed = true;
      }
    }
    return { seen, batches: batches() };
  }

  async function* batchesOf(...batches: StoredRows[]): AsyncGenerator<StoredRows> {
    yield* batches;
  }

  const FILE_KEYS: Record<NpyExportArray, ShardFileKey> = { features: 'features', labels: 'labels', image_ids: 'imageIds' };

  /** The values' bytes of the committed rows in the shards' own files of `array`, one shard after the other. */
  async function bytesInShardFiles(parts: readonly Part[], array: NpyExportArray): Promise<Buffer> {
    const pieces: Buffer[] = [];
    for (const part of parts) {
      const { data, shape } = await readNpy(path.join(part.dir, SHARD_FILE_NAMES[FILE_KEYS[array]]));
      const perRow = array === 'features' ? shape[1]! : 1;
      const committed = data.subarray(0, part.rows * perRow);
      pieces.push(Buffer.from(committed.buffer, committed.byteOffset, committed.byteLength));
    }
    return Buffer.concat(pieces);
  }

  async function writeAll(chunks: AsyncIterable<Buffer | string>, name: string): Promise<string> {
    const file = path.join(root, name);
    await fs.writeFile(file, '');
    for await (const chunk of chunks) await fs.appendFile(file, chunk);
    return file;
  }

  const text = async (chunks: AsyncIterable<string>) => (await collect(chunks)).join('');

  describe('planNpyRows', () => {
    for (const dtype of ['float16', 'float32'] as const) {
      it(`writes each array of the committed rows, in order, as the shard files hold them (${dtype} features)`, async () => {
        const parts = await threeShards(dtype);
        const written = committedRows(parts);
        const expected = {
          features: { dtype: dtype === 'float16' ? '<f2' : '<f4', shape: [ROWS, DIM], data: dtype === 'float16' ? toFloat16(written.features) : written.features },
          labels: { dtype: '<i4', shape: [ROWS], data: written.labels },
          image_ids: { dtype: '<i8', shape: [ROWS], data: written.imageIds },
        };
        for (const array of NPY_EXPORT_ARRAYS) {
          const plan = planNpyRows(array, { dtype, dim: DIM, rows: ROWS });
          // Labels and image ids are asked for without the features, as the API asks the stores.
          const file = await writeAll(plan.chunks(storedRows(parts, 4, array === 'features')), `${dtype}-${array}.npy`);
          const out = await readNpy(file);
          expect(out).toMatchObject({ dtype: expected[array].dtype, shape: expected[array].shape, fortranOrder: false });
          expect(out.data).toEqual(expected[array].data);
          expect(Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength)).toEqual(await bytesInShardFiles(parts, array));
          expect((await fs.stat(file)).size).toBe(plan.bytes);
        }
      });
    }

    it('plans the file before reading a row: dtype, shape, total bytes; then the header, then one chunk a batch', async () => {
      const parts = await threeShards('float32');
      expect(planNpyRows('labels', { dtype: 'float32', dim: DIM, rows: ROWS })).toMatchObject({ array: 'labels', dtype: '<i4', shape: [ROWS], rows: ROWS, bytes: 128 + ROWS * 4 });
      expect(planNpyRows('image_ids', { dtype: 'float16', dim: DIM, rows: ROWS })).toMatchObject({ dtype: '<i8', shape: [ROWS], bytes: 128 + ROWS * 8 });
      expect(planNpyRows('features', { dtype: 'float16', dim: DIM, rows: ROWS })).toMatchObject({ dtype: '<f2', shape: [ROWS, DIM], bytes: 128 + ROWS * DIM * 2 });
      const plan = planNpyRows('features', { dtype: 'float32', dim: DIM, rows: ROWS });
      expect(plan).toMatchObject({ array: 'features', dtype: '<f4', shape: [ROWS, DIM], rows: ROWS, bytes: 128 + ROWS * DIM * 4 });
      const chunks = await collect(plan.chunks(storedRows(parts, 5)));
      expect(chunks.map((chunk) => chunk.length)).toEqual([128, ...[5, 5, 1, 5, 1, 4].map((rows) => rows * DIM * 4)]);
      const file = Buffer.concat(chunks);
      expect(file.length).toBe(plan.bytes);
      expect(readNpyHeader(file)).toMatchObject({ dtype: '<f4', shape: [ROWS, DIM], fortranOrder: false, headerLength: 128 });
      expect(sha256Of(file.subarray(128))).toBe(sha256Of(committedRows(parts).features));
      // A plan streams again, from other batches of the same rows.
      expect(Buffer.concat(await collect(plan.chunks(storedRows(parts, 21))))).toEqual(file);
    });

    it('makes a valid empty array when no row is committed', async () => {
      const parts = [{ ...(await shard(makeRows(3, DIM, 7), DIM, 3, 'float32')), rows: 0 }];
      const features = await readNpy(await writeAll(planNpyRows('features', { dtype: 'float32', dim: DIM, rows: 0 }).chunks(storedRows(parts, 4)), 'empty.npy'));
      expect(features).toMatchObject({ dtype: '<f4', shape: [0, DIM] });
      expect(features.data).toHaveLength(0);
      const labels = await readNpy(await writeAll(planNpyRows('labels', { dtype: 'float32', dim: DIM, rows: 0 }).chunks(storedRows(parts, 4, false)), 'empty-labels.npy'));
      expect(labels).toMatchObject({ dtype: '<i4', shape: [0] });
    });

    it('refuses a plan it cannot make, before a byte of it', () => {
      const shape = { dtype: 'float32', dim: DIM, rows: ROWS } as const;
      expect(() => planNpyRows('features', { ...shape, dim: 0 })).toThrow(new ShardError('dim must be a positive integer, got 0'));
      expect(() => planNpyRows('features', { ...shape, dtype: 'float64' as ShardDtype })).toThrow(new ShardError('dtype must be one of float16, float32, got float64'));
      expect(() => planNpyRows('labels', { ...shape, rows: -1 })).toThrow(new ShardError('rows must be a non-negative integer, got -1'));
      expect(() => planNpyRows('labels', { ...shape, rows: 1.5 })).toThrow(new ShardError('rows must be a non-negative integer, got 1.5'));
      expect(() => planNpyRows('vectors' as NpyExportArray, shape)).toThrow(new ShardError('array must be one of features, labels, image_ids, got vectors'));
      expect(() => planNpyRows('toString' as NpyExportArray, shape)).toThrow(/array must be one of/);
      expect(() => planNpyRows('image_ids', { ...shape, rows: Number.MAX_SAFE_INTEGER })).toThrow(new ShardError(`${Number.MAX_SAFE_INTEGER} rows are too many for one file`));
    });

    it('refuses rows that do not fit the plan, rather than a file that looks right', async () => {
      const parts = await threeShards('float32');
      const f16 = await threeShards('float16');
      const plan = (array: NpyExportArray, rows = ROWS, dim = DIM) => planNpyRows(array, { dtype: 'float32', dim, rows });
      const bytes = async (chunks: AsyncIterable<Buffer>) => Buffer.concat(await collect(chunks));
      // Replies of 4 rows: rows 0-4, 4-8, 8-11 of the first shard, 11-15, 15-17, then 17-21.
      await expect(bytes(plan('labels', 20).chunks(storedRows(parts, 4, false)))).rejects.toThrow(new ShardError('rows 17 to 21 go past the 20 planned'));
      await expect(bytes(plan('image_ids', 22).chunks(storedRows(parts, 4, false)))).rejects.toThrow(new ShardError('21 rows came, 22 were planned'));
      await expect(bytes(plan('features').chunks(storedRows(f16, 4)))).rejects.toThrow(new ShardError('rows 0 to 4 are float16, the feature set stores float32'));
      await expect(bytes(plan('features', ROWS, DIM + 1).chunks(storedRows(parts, 4)))).rejects.toThrow(new ShardError('rows 0 to 4 hold 28 values, not 4 of 8'));
      await expect(bytes(plan('features').chunks(storedRows(parts, 4, false)))).rejects.toThrow(new ShardError('rows 0 to 4 hold 0 values, not 4 of 7'));
      const short: StoredRows = { dtype: 'float32', rows: 2, features: new Float32Array(2 * DIM), labels: Int32Array.of(1), imageIds: [5, 6] };
      await expect(bytes(plan('labels').chunks(batchesOf(short)))).rejects.toThrow(new ShardError('rows 0 to 2 have 1 labels and 2 image ids'));
    });

    it('stops asking for rows when its reader stops early', async () => {
      const source = watchedRows(10, DIM);
      for await (const chunk of planNpyRows('features', { dtype: 'float32', dim: DIM, rows: 10 }).chunks(source.batches)) {
        if (chunk.length === DIM * 4) break;
      }
      expect(source.seen).toEqual({ asked: 1, closed: true });
    });

    itWithNumpy('writes files numpy loads with mmap_mode="r"', async () => {
      const parts = await threeShards('float32');
      const half = await threeShards('float16');
      const written = committedRows(parts);
      const file = (array: NpyExportArray, from: Part[], dtype: ShardDtype) =>
        writeAll(planNpyRows(array, { dtype, dim: DIM, rows: ROWS }).chunks(storedRows(from, 3, array === 'features')), `np-${dtype}-${array}.npy`);
      const files = {
        features: await file('features', parts, 'float32'),
        half: await file('features', half, 'float16'),
        labels: await file('labels', parts, 'float32'),
        image_ids: await file('image_ids', parts, 'float32'),
      };
      const views = loadWithNumpy(Object.values(files));
      expect(views[files.features]).toEqual({ memmap: true, dtype: '<f4', shape: [ROWS, DIM], sha256: sha256Of(written.features) });
      expect(views[files.half]).toEqual({ memmap: true, dtype: '<f2', shape: [ROWS, DIM], sha256: sha256Of(toFloat16(committedRows(half).features)) });
      expect(views[files.labels]).toEqual({ memmap: true, dtype: '<i4', shape: [ROWS], sha256: sha256Of(written.labels) });
      expect(views[files.image_ids]).toEqual({ memmap: true, dtype: '<i8', shape: [ROWS], sha256: sha256Of(written.imageIds) });
    });
  });

  describe('csvLine', () => {
    it('writes the label, then each value as the shortest decimal that reads back as the same float32', () => {
      expect(csvLine(1, Float32Array.of(0.1, 0, 2.5))).toBe('1,0.1,0,2.5\n');
      expect(csvLine(0, Float32Array.of(-1, 1e-7, 3))).toBe('0,-1,1e-7,3\n');
      expect(csvLine(12, Float32Array.of(1 / 3, 123456.789, 3.4e38, -0))).toBe('12,0.33333334,123456.79,3.4e+38,-0\n');
    });
  });

  describe('csvOfRows', () => {
    const shape = (dim: number, rows: number, dtype: ShardDtype = 'float32') => ({ dtype, dim, rows });

    it('writes one `label,v1,...,vD` line per row, the label being the class index, whatever the batches', async () => {
      const rows: StoredRows = { dtype: 'float32', rows: 2, features: Float32Array.of(0.1, 0, 2.5, -1, 1e-7, 3), labels: Int32Array.of(1, 0), imageIds: [10, 11] };
      expect(await text(csvOfRows(batchesOf(rows), shape(3, 2)))).toBe('1,0.1,0,2.5\n0,-1,1e-7,3\n');
      const first = { ...rows, rows: 1, features: rows.features.subarray(0, 3), labels: rows.labels.subarray(0, 1), imageIds: [10] };
      const second = { ...rows, rows: 1, features: rows.features.subarray(3), labels: rows.labels.subarray(1), imageIds: [11] };
      expect(await text(csvOfRows(batchesOf(first, second), shape(3, 2)))).toBe('1,0.1,0,2.5\n0,-1,1e-7,3\n');
    });

    it('writes float16 rows by their widened values, from bit patterns or from a float16 shard', async () => {
      const values = Float32Array.of(0.1, 65504);
      const rows: StoredRows = { dtype: 'float16', rows: 1, features: toFloat16(values), labels: Int32Array.of(2), imageIds: [1] };
      expect(await text(csvOfRows(batchesOf(rows), shape(2, 1, 'float16')))).toBe('2,0.099975586,65504\n');
      const part = await shard({ features: values, labels: Int32Array.of(2), imageIds: BigInt64Array.of(1n) }, 2, 1, 'float16');
      const stored = (await collect(storedRows([part], 1)))[0]!;
      expect(await text(csvOfRows(batchesOf({ ...stored, imageIds: [1] }), shape(2, 1, 'float16')))).toBe('2,0.099975586,65504\n');
    });

    for (const dtype of ['float16', 'float32'] as const) {
      it(`writes the committed rows of each shard, in order, in chunks of whole lines of about the size asked (${dtype})`, async () => {
        const parts = await threeShards(dtype);
        const lines: string[] = [];
        for (const part of parts) {
          const reader = await ShardReader.open(part.dir, { rows: part.rows });
          const { features, labels } = await reader.read(0, part.rows);
          await reader.close();
          for (let row = 0; row < part.rows; row++) lines.push(csvLine(labels[row]!, features.subarray(row * DIM, (row + 1) * DIM)));
        }
        expect(lines).toHaveLength(ROWS);
        const chunks = await collect(csvOfRows(storedRows(parts, 5), shape(DIM, ROWS, dtype), { chunkChars: 150 }));
        expect(chunks.length).toBeGreaterThan(5);
        const longest = Math.max(...lines.map((line) => line.length));
        for (const chunk of chunks) {
          expect(chunk.endsWith('\n')).toBe(true);
          expect(chunk.length).toBeLessThan(150 + longest);
        }
        expect(chunks.join('')).toBe(lines.join(''));
        // By default the whole of this small split is one chunk.
        expect(await collect(csvOfRows(storedRows(parts, 5), shape(DIM, ROWS, dtype)))).toEqual([lines.join('')]);
      });
    }

    it('writes nothing when no row is committed', async () => {
      const part = await shard(makeRows(3, DIM, 8), DIM, 0, 'float32');
      expect(await collect(csvOfRows(storedRows([part], 4), shape(DIM, 0)))).toEqual([]);
    });

    it('refuses a bad shape, and rows that do not fit it', async () => {
      const parts = await threeShards('float32');
      await expect(text(csvOfRows(storedRows(parts, 4), shape(0, ROWS)))).rejects.toThrow(new ShardError('dim must be a positive integer, got 0'));
      await expect(text(csvOfRows(storedRows(parts, 4), shape(DIM, ROWS), { chunkChars: 0 }))).rejects.toThrow(new ShardError('chunkChars must be a positive integer, got 0'));
      await expect(text(csvOfRows(storedRows(parts, 4), shape(DIM, ROWS, 'float16')))).rejects.toThrow(new ShardError('rows 0 to 4 are float32, the feature set stores float16'));
      await expect(text(csvOfRows(storedRows(parts, 4), shape(DIM + 2, ROWS)))).rejects.toThrow(new ShardError('rows 0 to 4 hold 28 values, not 4 of 9'));
      await expect(text(csvOfRows(storedRows(parts, 4, false), shape(DIM, ROWS)))).rejects.toThrow(new ShardError('rows 0 to 4 hold 0 values, not 4 of 7'));
      await expect(text(csvOfRows(storedRows(parts, 4), shape(DIM, 20)))).rejects.toThrow(new ShardError('rows 17 to 21 go past the 20 planned'));
      await expect(text(csvOfRows(storedRows(parts, 4), shape(DIM, 22)))).rejects.toThrow(new ShardError('21 rows came, 22 were planned'));
    });

    it('stops asking for rows when its reader stops early', async () => {
      const source = watchedRows(10, 2);
      for await (const chunk of csvOfRows(source.batches, shape(2, 10), { chunkChars: 1 })) {
        expect(chunk).toBe('0,0,0.5\n');
        break;
      }
      expect(source.seen).toEqual({ asked: 1, closed: true });
    });

    itWithNumpy("is read by the tutorial's parsing into the same float32 values and labels", async () => {
      const part = await shard(makeRows(30, 16, 12), 16, 30, 'float32');
      const file = path.join(root, 'features.csv');
      async function* rows(): AsyncGenerator<StoredRows> {
        const reader = await ShardReader.open(part.dir);
        const batch = await reader.readStored(0, 30);
        await reader.close();
        yield { dtype: batch.dtype, rows: 30, features: batch.features, labels: batch.labels, imageIds: Array.from(batch.imageIds, Number) };
      }
      await fs.writeFile(file, await text(csvOfRows(rows(), shape(16, 30))));
      // As the tutorial's csv_feature_generator parses each line.
      const parsed = runPython<{ labels: number[]; sha256: string }>(
        `import sys, json, hashlib, numpy as np
labels, data = [], []
for row in open(sys.argv[1]):
    row = row.strip().split(",")
    labels.append(int(row[0]))
    data.append(np.array(row[1:], dtype="float"))
print(json.dumps({'labels': labels, 'sha256': hashlib.sha256(np.array(data).astype(np.float32).tobytes()).hexdigest()}))`,
        [file],
      );
      expect(parsed).toEqual({ labels: Array.from(part.written.labels), sha256: sha256Of(part.written.features) });
    });
  });
});
