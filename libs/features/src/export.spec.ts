import { existsSync, promises as fs } from 'node:fs';
import { itIf } from '@featx/testing';
import path from 'node:path';
import { csvLine } from './csv-export';
import { ShardCorruptError, ShardError } from './errors';
import { concatCsv, concatNpy, planConcatCsv, planConcatNpy, type ExportPart, type NpyExportArray } from './export';
import { readNpy, readNpyHeader } from './npy';
import { ShardWriter } from './shard-writer';
import { collect, makeTempDir, removeDir, sha256Of } from './testing/fixtures';
import { itWithNumpy, loadWithNumpy } from './testing/numpy';
import { concatRows, makeRows, type Rows } from './testing/shard-rows';
import { toFloat16 } from './float16';

describe('exporting shards as one file', () => {
  let root: string;
  let n = 0;
  beforeAll(async () => {
    root = await makeTempDir('featx-export-');
  });
  afterAll(() => removeDir(root));

  /** A shard holding `rows` on disk; the returned part commits `committed` of them (default all). */
  async function shard(rows: Rows, dim: number, committed = rows.labels.length, dtype: 'float16' | 'float32' = 'float32'): Promise<ExportPart> {
    const dir = path.join(root, `shard-${n++}`);
    const writer = await ShardWriter.open(dir, { dim, dtype });
    // Two appends, as a feature store makes them.
    const half = Math.floor(rows.labels.length / 2);
    await writer.append(slice(rows, 0, half, dim));
    await writer.append(slice(rows, half, rows.labels.length, dim));
    await writer.close();
    return { dir, rows: committed };
  }

  function slice(rows: Rows, start: number, end: number, dim: number): Rows {
    return { features: rows.features.slice(start * dim, end * dim), labels: rows.labels.slice(start, end), imageIds: rows.imageIds.slice(start, end) };
  }

  async function writeAll(chunks: AsyncIterable<Buffer | string>, name: string): Promise<string> {
    const file = path.join(root, name);
    await fs.writeFile(file, '');
    for await (const chunk of chunks) await fs.appendFile(file, chunk);
    return file;
  }

  const DIM = 6;
  /** Three shards; the second has 4 rows on disk that were never committed. */
  async function threeShards() {
    const rows = [makeRows(9, DIM, 1, 0), makeRows(12, DIM, 2, 100), makeRows(5, DIM, 3, 200)];
    const parts = [await shard(rows[0]!, DIM), await shard(rows[1]!, DIM, 8), await shard(rows[2]!, DIM)];
    const expected = concatRows([rows[0]!, slice(rows[1]!, 0, 8, DIM), rows[2]!]);
    return { parts, expected };
  }

  describe('concatNpy', () => {
    it('joins the committed rows of each shard, in order, into one .npy per array', async () => {
      const { parts, expected } = await threeShards();
      const features = await readNpy(await writeAll(concatNpy(parts, 'features'), 'features.npy'));
      expect(features).toMatchObject({ dtype: '<f4', shape: [22, DIM], fortranOrder: false });
      expect(features.data).toEqual(expected.features);
      const labels = await readNpy(await writeAll(concatNpy(parts, 'labels'), 'labels.npy'));
      expect(labels).toMatchObject({ dtype: '<i4', shape: [22] });
      expect(labels.data).toEqual(expected.labels);
      const ids = await readNpy(await writeAll(concatNpy(parts, 'image_ids'), 'image_ids.npy'));
      expect(ids).toMatchObject({ dtype: '<i8', shape: [22] });
      expect(ids.data).toEqual(expected.imageIds);
    });

    it('plans the file before reading a row: dtype, shape, total bytes; chunks never exceed the size asked', async () => {
      const { parts, expected } = await threeShards();
      const plan = await planConcatNpy(parts, 'features', { chunkBytes: 100 });
      expect(plan).toMatchObject({ array: 'features', dtype: '<f4', shape: [22, DIM], rows: 22, bytes: 128 + 22 * DIM * 4 });
      const chunks = await collect(plan.chunks());
      expect(chunks[0]!.length).toBe(128);
      for (const chunk of chunks.slice(1)) expect(chunk.length).toBeLessThanOrEqual(100);
      const file = Buffer.concat(chunks);
      expect(file.length).toBe(plan.bytes);
      expect(readNpyHeader(file)).toMatchObject({ dtype: '<f4', shape: [22, DIM], headerLength: 128 });
      expect(sha256Of(file.subarray(128))).toBe(sha256Of(expected.features));
      // A second pass reads the files again.
      expect(Buffer.concat(await collect(plan.chunks()))).toEqual(file);
    });

    it('keeps float16 values as stored', async () => {
      const rows = [makeRows(3, 4, 5), makeRows(2, 4, 6, 3)];
      const parts = [await shard(rows[0]!, 4, 3, 'float16'), await shard(rows[1]!, 4, 2, 'float16')];
      const out = await readNpy(await writeAll(concatNpy(parts, 'features'), 'half.npy'));
      expect(out).toMatchObject({ dtype: '<f2', shape: [5, 4] });
      expect(out.data).toEqual(toFloat16(concatRows(rows).features));
    });

    it('makes a valid empty array when no row is committed', async () => {
      const parts = [await shard(makeRows(3, DIM, 7), DIM, 0)];
      const out = await readNpy(await writeAll(concatNpy(parts, 'features'), 'empty.npy'));
      expect(out).toMatchObject({ dtype: '<f4', shape: [0, DIM] });
      expect(await readNpy(await writeAll(concatNpy(parts, 'labels'), 'empty-labels.npy'))).toMatchObject({ shape: [0] });
    });

    it('refuses shards that cannot be joined, or that lack committed rows, before yielding anything', async () => {
      const f32 = await shard(makeRows(2, DIM, 8), DIM);
      const f16 = await shard(makeRows(2, DIM, 9), DIM, 2, 'float16');
      const otherDim = await shard(makeRows(2, DIM + 1, 10), DIM + 1);
      await expect(collect(concatNpy([f32, f16], 'features'))).rejects.toThrow(/holds <f2 vectors of 6 values, the shards before it <f4 vectors of 6 values/);
      await expect(collect(concatNpy([f32, otherDim], 'features'))).rejects.toThrow(ShardError);
      // labels and ids of those shards line up whatever the features' dtype
      expect((await planConcatNpy([f32, f16, otherDim], 'labels')).shape).toEqual([6]);
      await expect(collect(concatNpy([{ ...f32, rows: 3 }], 'features'))).rejects.toThrow(ShardCorruptError);
      await expect(collect(concatNpy([{ ...f32, rows: 3 }], 'features'))).rejects.toThrow(/declares 2 rows, fewer than the 3 committed/);
      await expect(collect(concatNpy([], 'labels'))).rejects.toThrow(/no shards/);
      await expect(collect(concatNpy([{ ...f32, rows: -1 }], 'labels'))).rejects.toThrow(/non-negative integer/);
      await expect(collect(concatNpy([f32], 'vectors' as NpyExportArray))).rejects.toThrow(/array must be one of/);
      await expect(collect(concatNpy([f32, { dir: path.join(root, 'nope'), rows: 1 }], 'labels'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('notices a file cut short after its header was written', async () => {
      const part = await shard(makeRows(4, DIM, 11), DIM);
      const file = path.join(part.dir, 'features.npy');
      await fs.truncate(file, (await fs.stat(file)).size - 1);
      await expect(collect(concatNpy([part], 'features'))).rejects.toThrow(/fewer than the .* its 4 committed rows need/);
      expect(Buffer.concat(await collect(concatNpy([{ ...part, rows: 3 }], 'features'))).length).toBe(128 + 3 * DIM * 4);
    });

    itIf(existsSync('/proc/self/fd'), 'no /proc/self/fd to count open files in (Linux only)')('closes the files when the consumer stops early', async () => {
      const { parts } = await threeShards();
      const before = (await fs.readdir('/proc/self/fd')).length;
      for await (const chunk of concatNpy(parts, 'features', { chunkBytes: 16 })) {
        if (chunk.length === 16) break;
      }
      expect((await fs.readdir('/proc/self/fd')).length).toBe(before);
    });

    itWithNumpy('is loaded by numpy with mmap_mode="r"', async () => {
      const { parts, expected } = await threeShards();
      const files = {
        features: await writeAll(concatNpy(parts, 'features', { chunkBytes: 64 }), 'np-features.npy'),
        labels: await writeAll(concatNpy(parts, 'labels'), 'np-labels.npy'),
        image_ids: await writeAll(concatNpy(parts, 'image_ids'), 'np-image_ids.npy'),
      };
      const views = loadWithNumpy(Object.values(files));
      expect(views[files.features]).toEqual({ memmap: true, dtype: '<f4', shape: [22, DIM], sha256: sha256Of(expected.features) });
      expect(views[files.labels]).toEqual({ memmap: true, dtype: '<i4', shape: [22], sha256: sha256Of(expected.labels) });
      expect(views[files.image_ids]).toEqual({ memmap: true, dtype: '<i8', shape: [22], sha256: sha256Of(expected.imageIds) });
    });
  });

  describe('concatCsv', () => {
    it('writes the committed rows of each shard, in order, as `label,v1,...,vD` lines', async () => {
      const { parts, expected } = await threeShards();
      const lines = Array.from({ length: 22 }, (_, i) => csvLine(expected.labels[i]!, expected.features.subarray(i * DIM, (i + 1) * DIM)));
      const plan = await planConcatCsv(parts, { batchRows: 4, chunkChars: 150 });
      expect(plan).toMatchObject({ rows: 22, dim: DIM });
      const chunks = await collect(plan.chunks());
      for (const chunk of chunks) expect(chunk.endsWith('\n')).toBe(true);
      expect(chunks.join('')).toBe(lines.join(''));
      expect((await collect(concatCsv(parts))).join('')).toBe(lines.join(''));
    });

    it('refuses shards of different dims, or lacking committed rows', async () => {
      const a = await shard(makeRows(2, DIM, 12), DIM);
      const b = await shard(makeRows(2, DIM + 2, 13), DIM + 2);
      await expect(collect(concatCsv([a, b]))).rejects.toThrow(/8 values, the shards before it 6/);
      await expect(collect(concatCsv([{ ...a, rows: 5 }]))).rejects.toThrow(ShardCorruptError);
      await expect(collect(concatCsv([]))).rejects.toThrow(/no shards/);
      expect(await collect(concatCsv([{ ...a, rows: 0 }]))).toEqual([]);
    });
  });
});
