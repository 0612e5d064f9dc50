import { promises as fs } from 'node:fs';
import path from 'node:path';
import { NpyFormatError, ShardCorruptError, ShardError } from './errors';
import { fromFloat16, toFloat16 } from './float16';
import { writeNpy } from './npy';
import { ShardReader } from './shard-reader';
import { ShardWriter } from './shard-writer';
import { suiteTempDir } from '@featx/testing';
import { makeRows } from './testing/shard-rows';

const DIM = 7;

describe('ShardReader', () => {
  const folders = suiteTempDir('featx-features-');
  let dir: string;
  beforeEach(() => {
    dir = folders.next('shard');
  });

  const rows = makeRows(23, DIM, 5);

  async function writeShard(dtype: 'float16' | 'float32' = 'float32'): Promise<void> {
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype });
    await writer.append(rows);
    await writer.close();
  }

  it('tells rows, dim and dtype, and reads any range of rows', async () => {
    await writeShard();
    const reader = await ShardReader.open(dir);
    expect([reader.rows, reader.dim, reader.dtype]).toEqual([23, DIM, 'float32']);
    const batch = await reader.read(5, 4);
    expect(batch).toEqual({
      start: 5,
      features: rows.features.slice(5 * DIM, 9 * DIM),
      labels: rows.labels.slice(5, 9),
      imageIds: rows.imageIds.slice(5, 9),
    });
    await reader.close();
  });

  it('returns fewer rows where the shard ends, none at its end, and refuses starts past it', async () => {
    await writeShard();
    const reader = await ShardReader.open(dir);
    expect((await reader.read(20, 10)).labels).toEqual(rows.labels.slice(20));
    expect((await reader.read(23, 10)).features).toEqual(new Float32Array(0));
    await expect(reader.read(24, 1)).rejects.toThrow(ShardError);
    await expect(reader.read(-1, 1)).rejects.toThrow(ShardError);
    await expect(reader.read(0, 1.5)).rejects.toThrow(ShardError);
    await reader.close();
    await expect(reader.read(0, 1)).rejects.toThrow(/closed/);
  });

  it('widens float16 features to float32', async () => {
    await writeShard('float16');
    const reader = await ShardReader.open(dir);
    expect(reader.dtype).toBe('float16');
    expect((await reader.read(0, 23)).features).toEqual(fromFloat16(toFloat16(rows.features)));
    await reader.close();
  });

  it('reads rows as stored: float16 bit patterns, float32 values', async () => {
    await writeShard('float16');
    const half = await ShardReader.open(dir);
    const stored = await half.readStored(3, 4);
    expect(stored.dtype).toBe('float16');
    expect(stored.features).toEqual(toFloat16(rows.features).subarray(3 * DIM, 7 * DIM));
    expect(stored.labels).toEqual(rows.labels.slice(3, 7));
    await half.close();
    dir = folders.next('shard');
    await writeShard('float32');
    const full = await ShardReader.open(dir);
    expect(await full.readStored(3, 4)).toMatchObject({ dtype: 'float32', features: rows.features.slice(3 * DIM, 7 * DIM) });
    await full.close();
  });

  it('reads only the rows asked for, e.g. those committed while a writer appends', async () => {
    await writeShard();
    const reader = await ShardReader.open(dir, { rows: 10 });
    expect(reader.rows).toBe(10);
    expect((await reader.read(0, 100)).labels).toEqual(rows.labels.slice(0, 10));
    await reader.close();
    await expect(ShardReader.open(dir, { rows: 24 })).rejects.toThrow(ShardCorruptError);
  });

  it('reads a shard numpy-style files make, and refuses damaged or mismatched ones', async () => {
    await fs.mkdir(dir);
    await writeNpy(path.join(dir, 'features.npy'), '<f4', [2, DIM], rows.features.slice(0, 2 * DIM));
    await writeNpy(path.join(dir, 'labels.npy'), '<i4', [2], Int32Array.of(1, 0));
    await writeNpy(path.join(dir, 'image_ids.npy'), '<i8', [2], BigInt64Array.of(10n, 11n));
    const reader = await ShardReader.open(dir);
    expect((await reader.read(0, 2)).imageIds).toEqual(BigInt64Array.of(10n, 11n));
    await reader.close();

    await fs.truncate(path.join(dir, 'labels.npy'), 128 + 5);
    await expect(ShardReader.open(dir)).rejects.toThrow(/labels\.npy has 133 bytes, fewer than the 136 its 2 rows need/);
    await writeNpy(path.join(dir, 'labels.npy'), '<i8', [2], BigInt64Array.of(1n, 0n));
    await expect(ShardReader.open(dir)).rejects.toThrow(/labels\.npy holds <i8 values, the shard needs <i4/);
    await writeNpy(path.join(dir, 'features.npy'), '<i4', [2, DIM], new Int32Array(2 * DIM));
    await expect(ShardReader.open(dir)).rejects.toThrow(/features\.npy holds <i4 values, not float16 or float32/);
    await fs.writeFile(path.join(dir, 'features.npy'), 'not numpy');
    await expect(ShardReader.open(dir)).rejects.toThrow(NpyFormatError);
    await expect(ShardReader.open(path.join(folders.path(), 'nowhere'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
