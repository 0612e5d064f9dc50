import path from 'node:path';
import { planConcatCsv, planConcatNpy, type ExportPart, type NpyExportArray } from './export';
import { ShardReader } from './shard-reader';
import { ShardWriter } from './shard-writer';
import { csvOfRows, planNpyRows, type StoredRows } from './rows-export';
import { collect, makeTempDir, removeDir } from './testing/fixtures';
import { makeRows } from './testing/shard-rows';

/**
 * The exports made from rows as they come over the bus are the very bytes the exports of the
 * shard files make: the API moved from one to the other, its files must not change.
 */
describe('exports from shard rows', () => {
  let root: string;
  beforeAll(async () => {
    root = await makeTempDir('featx-rows-export-');
  });
  afterAll(() => removeDir(root));

  const DIM = 7;

  /** Three shards of `dtype`, the second with rows on disk past its committed ones. */
  async function shards(dtype: 'float16' | 'float32'): Promise<ExportPart[]> {
    const parts: ExportPart[] = [];
    for (const [i, [onDisk, committed]] of [[11, 11], [9, 6], [4, 4]].entries()) {
      const dir = path.join(root, `${dtype}-${i}`);
      const writer = await ShardWriter.open(dir, { dim: DIM, dtype });
      const rows = makeRows(onDisk!, DIM, i + 1, i * 100);
      await writer.append({ features: rows.features, labels: Array.from(rows.labels), imageIds: Array.from(rows.imageIds, Number) });
      await writer.close();
      parts.push({ dir, rows: committed! });
    }
    return parts;
  }

  /** The parts' committed rows as stored, in replies of `chunk` rows, as the bus client yields them. */
  async function* storedRows(parts: ExportPart[], chunk: number, features = true): AsyncGenerator<StoredRows> {
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

  const bytes = async (chunks: AsyncIterable<Buffer | string>) => Buffer.concat((await collect(chunks)).map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));

  for (const dtype of ['float16', 'float32'] as const) {
    it(`writes the same .npy bytes as the files' export, every array, ${dtype}`, async () => {
      const parts = await shards(dtype);
      const rows = parts.reduce((sum, part) => sum + part.rows, 0);
      for (const array of ['features', 'labels', 'image_ids'] as NpyExportArray[]) {
        const fromFiles = await planConcatNpy(parts, array);
        const fromRows = planNpyRows(array, { dtype, dim: DIM, rows });
        expect(fromRows.bytes).toBe(fromFiles.bytes);
        expect(await bytes(fromRows.chunks(storedRows(parts, 4, array === 'features')))).toEqual(await bytes(fromFiles.chunks()));
      }
    });

    it(`writes the same CSV text as the files' export, ${dtype}`, async () => {
      const parts = await shards(dtype);
      const rows = parts.reduce((sum, part) => sum + part.rows, 0);
      const fromFiles = await bytes((await planConcatCsv(parts)).chunks());
      expect(await bytes(csvOfRows(storedRows(parts, 5), { dtype, dim: DIM, rows }, { chunkChars: 100 }))).toEqual(fromFiles);
    });
  }

  it('refuses rows that do not fit what was planned, rather than a file that looks right', async () => {
    const parts = await shards('float32');
    const plan = planNpyRows('labels', { dtype: 'float32', dim: DIM, rows: 20 });
    await expect(bytes(plan.chunks(storedRows(parts, 4)))).rejects.toThrow('go past the 20 planned');
    await expect(bytes(csvOfRows(storedRows(parts, 4), { dtype: 'float16', dim: DIM, rows: 21 }))).rejects.toThrow('rows 0 to 4 are float32, the feature set stores float16');
    await expect(bytes(planNpyRows('features', { dtype: 'float32', dim: DIM, rows: 22 }).chunks(storedRows(parts, 4)))).rejects.toThrow('21 rows came, 22 were planned');
  });
});
