import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ShardCorruptError, ShardError } from './errors';
import { fromFloat16, toFloat16 } from './float16';
import { encodeNpyHeader, readNpy, readNpyFileHeader } from './npy';
import { ShardReader } from './shard-reader';
import { ShardWriter } from './shard-writer';
import { suiteTempDir } from '@featx/testing';
import { sha256Of } from './testing/fixtures';
import { itWithNumpy, loadWithNumpy } from './testing/numpy';
import { concatRows, makeRows, type Rows } from './testing/shard-rows';

const DIM = 5;
const FILES = ['features.npy', 'labels.npy', 'image_ids.npy'];

describe('ShardWriter', () => {
  const folders = suiteTempDir('featx-features-');
  let dir: string;
  beforeEach(() => {
    dir = folders.next('shard');
  });

  async function readAll(shardDir = dir): Promise<Rows> {
    const reader = await ShardReader.open(shardDir);
    try {
      const { features, labels, imageIds } = await reader.read(0, reader.rows);
      return { features, labels, imageIds };
    } finally {
      await reader.close();
    }
  }

  async function fileSizes(): Promise<number[]> {
    return Promise.all(FILES.map(async (name) => (await fs.stat(path.join(dir, name))).size));
  }

  /** Appends `parts` to a fresh float32 shard and closes it. */
  async function writeShard(parts: readonly Rows[]): Promise<void> {
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32' });
    for (const part of parts) await writer.append(part);
    await writer.close();
  }

  it('creates the folder and three empty files with 128-byte headers', async () => {
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float16' });
    expect(writer.rows).toBe(0);
    expect(writer.bytes).toBe(3 * 128);
    await writer.close();
    expect(await fileSizes()).toEqual([128, 128, 128]);
    expect((await fs.readdir(dir)).sort()).toEqual([...FILES].sort());
    expect(await readNpy(path.join(dir, 'features.npy'))).toEqual({
      dtype: '<f2',
      shape: [0, DIM],
      fortranOrder: false,
      data: new Uint16Array(0),
    });
  });

  it('appends several batches that read back identical (float32)', async () => {
    const parts = [makeRows(3, DIM, 1, 0), makeRows(1, DIM, 2, 3), makeRows(7, DIM, 3, 4)];
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32' });
    expect(await writer.append(parts[0]!)).toBe(3);
    expect(await writer.append(parts[1]!)).toBe(4);
    expect(await writer.append(parts[2]!)).toBe(11);
    expect(writer.rows).toBe(11);
    expect(writer.bytes).toBe(3 * 128 + 11 * (DIM * 4 + 4 + 8));
    expect(await fileSizes()).toEqual([128 + 11 * DIM * 4, 128 + 11 * 4, 128 + 11 * 8]);
    await writer.close();
    expect(await readAll()).toEqual(concatRows(parts));
  });

  it('stores float16 from float32 values or raw halves, and plain number arrays for labels and ids', async () => {
    const rows = makeRows(4, DIM, 4);
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float16' });
    await writer.append(rows);
    await writer.append({ features: toFloat16(rows.features), labels: [5, 6, 7, 8], imageIds: [1, 2, 2 ** 53 - 1, 9n] });
    await writer.close();
    const halves = (await readNpy(path.join(dir, 'features.npy'))).data as Uint16Array;
    expect(halves).toEqual(new Uint16Array([...toFloat16(rows.features), ...toFloat16(rows.features)]));
    const back = await readAll();
    expect(back.features).toEqual(new Float32Array([...fromFloat16(toFloat16(rows.features)), ...fromFloat16(toFloat16(rows.features))]));
    expect(Array.from(back.labels)).toEqual([...rows.labels, 5, 6, 7, 8]);
    expect(Array.from(back.imageIds)).toEqual([...rows.imageIds, 1n, 2n, 2n ** 53n - 1n, 9n]);
  });

  it('runs appends made at the same time one after another, in call order', async () => {
    const parts = Array.from({ length: 6 }, (_, i) => makeRows(i + 1, DIM, 10 + i, i * 10));
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32' });
    const totals = await Promise.all(parts.map((part) => writer.append(part)));
    expect(totals).toEqual([1, 3, 6, 10, 15, 21]);
    await writer.close();
    expect(await readAll()).toEqual(concatRows(parts));
  });

  it('reopens and keeps appending after the rows already there', async () => {
    const parts = [makeRows(4, DIM, 20, 0), makeRows(2, DIM, 21, 4)];
    await writeShard([parts[0]!]);
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32', committedRows: 4 });
    expect(writer.rows).toBe(4);
    expect(writer.discardedBytes).toBe(0);
    await writer.append(parts[1]!);
    await writer.close();
    expect(await readAll()).toEqual(concatRows(parts));
  });

  it('cuts every file back to the committed rows, then appends after them', async () => {
    const committed = makeRows(5, DIM, 30, 0);
    await writeShard([committed, makeRows(3, DIM, 31, 5)]);
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32', committedRows: 5 });
    expect(writer.rows).toBe(5);
    expect(writer.discardedBytes).toBe(3 * (DIM * 4 + 4 + 8));
    expect(await fileSizes()).toEqual([128 + 5 * DIM * 4, 128 + 5 * 4, 128 + 5 * 8]);
    for (const name of FILES) {
      const handle = await fs.open(path.join(dir, name), 'r');
      expect((await readNpyFileHeader(handle)).shape[0]).toBe(5);
      await handle.close();
    }
    expect(await readAll()).toEqual(committed);

    const next = makeRows(2, DIM, 32, 100);
    await writer.append(next);
    await writer.close();
    expect(await readAll()).toEqual(concatRows([committed, next]));
  });

  it('cuts back to zero committed rows', async () => {
    await writeShard([makeRows(3, DIM, 33)]);
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32', committedRows: 0 });
    expect(writer.rows).toBe(0);
    await writer.close();
    expect(await fileSizes()).toEqual([128, 128, 128]);
  });

  it('recovers from a torn write: rows written past the header, the last one cut mid-row', async () => {
    const committed = makeRows(4, DIM, 40, 0);
    await writeShard([committed]);
    // A crash during the next append: part of its rows reached each file, headers not updated.
    const torn = makeRows(3, DIM, 41, 4);
    await fs.appendFile(path.join(dir, 'features.npy'), Buffer.from(torn.features.buffer).subarray(0, 2 * DIM * 4 + 7));
    await fs.appendFile(path.join(dir, 'labels.npy'), Buffer.from(torn.labels.buffer).subarray(0, 6));
    await fs.appendFile(path.join(dir, 'image_ids.npy'), Buffer.from(torn.imageIds.buffer));

    // Without a committed count: the rows every header declares.
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32' });
    expect(writer.rows).toBe(4);
    expect(writer.discardedBytes).toBe(2 * DIM * 4 + 7 + 6 + 3 * 8);
    expect(await fileSizes()).toEqual([128 + 4 * DIM * 4, 128 + 4 * 4, 128 + 4 * 8]);
    const next = makeRows(2, DIM, 42, 4);
    await writer.append(next);
    await writer.close();
    expect(await readAll()).toEqual(concatRows([committed, next]));
  });

  it('recovers from a crash between header rewrites: keeps the fewest rows any header declares', async () => {
    const committed = makeRows(2, DIM, 50, 0);
    const lost = makeRows(2, DIM, 51, 2);
    await writeShard([committed, lost]);
    // Roll features' and image ids' headers back to 2 rows, as if only labels' header had been rewritten.
    for (const [name, shape] of [['features.npy', [2, DIM]], ['image_ids.npy', [2]]] as const) {
      const dtype = name === 'features.npy' ? '<f4' : '<i8';
      const handle = await fs.open(path.join(dir, name), 'r+');
      await handle.write(encodeNpyHeader({ dtype, shape: [...shape], fortranOrder: false }), 0, 128, 0);
      await handle.close();
    }
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32' });
    expect(writer.rows).toBe(2);
    await writer.close();
    expect(await readAll()).toEqual(committed);
  });

  it('recovers with a committed count from a file chopped mid-row after the committed rows', async () => {
    const rows = makeRows(6, DIM, 55, 0);
    await writeShard([rows]);
    await fs.truncate(path.join(dir, 'features.npy'), 128 + 4 * DIM * 4 + 3);
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32', committedRows: 4 });
    expect(writer.rows).toBe(4);
    await writer.close();
    const expected = makeRows(6, DIM, 55, 0);
    expect(await readAll()).toEqual({
      features: expected.features.subarray(0, 4 * DIM),
      labels: expected.labels.subarray(0, 4),
      imageIds: expected.imageIds.subarray(0, 4),
    });
  });

  it('refuses to invent committed rows that are not on disk', async () => {
    await writeShard([makeRows(3, DIM, 60)]);
    await expect(ShardWriter.open(dir, { dim: DIM, dtype: 'float32', committedRows: 4 })).rejects.toThrow(ShardCorruptError);
    await fs.truncate(path.join(dir, 'labels.npy'), 128 + 2 * 4 + 1);
    await expect(ShardWriter.open(dir, { dim: DIM, dtype: 'float32', committedRows: 3 })).rejects.toThrow(
      `${path.join(dir, 'labels.npy')} holds 2 complete rows, yet 3 were committed`,
    );
    await fs.rm(path.join(dir, 'image_ids.npy'));
    await expect(ShardWriter.open(dir, { dim: DIM, dtype: 'float32', committedRows: 2 })).rejects.toThrow(/image_ids\.npy is missing/);
    await expect(ShardWriter.open(dir, { dim: DIM, dtype: 'float32' })).rejects.toThrow(
      /image_ids\.npy is missing while other files of the shard hold rows/,
    );
  });

  it('creates files missing from an empty shard (a crash while creating it)', async () => {
    await writeShard([]);
    await fs.rm(path.join(dir, 'labels.npy'));
    await fs.writeFile(path.join(dir, 'labels.npy.tmp'), 'half-made');
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32', committedRows: 0 });
    await writer.append(makeRows(1, DIM, 61));
    await writer.close();
    expect((await fs.readdir(dir)).sort()).toEqual([...FILES].sort());
    expect((await readAll()).labels).toEqual(Int32Array.of(0));
  });

  it('refuses files of another dim or dtype, and files that are not .npy', async () => {
    await writeShard([makeRows(1, DIM, 70)]);
    await expect(ShardWriter.open(dir, { dim: DIM + 1, dtype: 'float32' })).rejects.toThrow(
      /features\.npy has shape \(1, 5\), the shard needs \(rows, 6\)/,
    );
    await expect(ShardWriter.open(dir, { dim: DIM, dtype: 'float16' })).rejects.toThrow(/holds <f4 values, the shard needs <f2/);
    await fs.writeFile(path.join(dir, 'labels.npy'), 'label\n1\n');
    await expect(ShardWriter.open(dir, { dim: DIM, dtype: 'float32' })).rejects.toThrow(/labels\.npy: not a \.npy file/);
    await expect(ShardWriter.open(dir, { dim: 0, dtype: 'float32' })).rejects.toThrow(ShardError);
    await expect(ShardWriter.open(dir, { dim: DIM, dtype: 'float64' as 'float32' })).rejects.toThrow(ShardError);
    await expect(ShardWriter.open(dir, { dim: DIM, dtype: 'float32', committedRows: -1 })).rejects.toThrow(ShardError);
  });

  it('refuses rows that do not line up, and stays usable afterwards', async () => {
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32' });
    const rows = makeRows(2, DIM, 80);
    await expect(writer.append({ ...rows, labels: Int32Array.of(1) })).rejects.toThrow('1 labels but 2 image ids');
    await expect(writer.append({ ...rows, features: rows.features.subarray(1) })).rejects.toThrow(/need 10 feature values, got 9/);
    await expect(writer.append({ ...rows, features: toFloat16(rows.features) })).rejects.toThrow(/features must be a Float32Array, got Uint16Array/);
    await expect(writer.append({ ...rows, labels: [0.5, 1] })).rejects.toThrow(/label 0.5/);
    await expect(writer.append({ ...rows, imageIds: [1, 2 ** 60] })).rejects.toThrow(/image id/);
    await expect(writer.append({ ...rows, imageIds: [1n, 2n ** 63n] })).rejects.toThrow(/image id/);
    expect(await writer.append({ features: new Float32Array(0), labels: [], imageIds: [] })).toBe(0);
    expect(await writer.append(rows)).toBe(2);
    await writer.close();
    expect(await readAll()).toEqual(rows);
  });

  it('is broken after a failed write, until the shard is reopened', async () => {
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32' });
    await writer.append(makeRows(1, DIM, 90));
    // Pull a file out from under it, as a failing disk would.
    const files = (writer as unknown as { files: { handle: fs.FileHandle }[] }).files;
    await files[1]!.handle.close();
    await expect(writer.append(makeRows(1, DIM, 91))).rejects.toThrow();
    await expect(writer.append(makeRows(1, DIM, 92))).rejects.toThrow(/earlier append .* failed .* reopen the shard/);
    await writer.close().catch(() => undefined);
    const reopened = await ShardWriter.open(dir, { dim: DIM, dtype: 'float32', committedRows: 1 });
    expect(reopened.rows).toBe(1);
    await reopened.close();
  });

  it('seals: hashes the three files and closes; the shard can be reopened to append more', async () => {
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float16' });
    await writer.append(makeRows(9, DIM, 100));
    const sealed = await writer.seal();
    const contents = await Promise.all(FILES.map((name) => fs.readFile(path.join(dir, name))));
    const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    expect(sealed).toEqual({
      rows: 9,
      bytes: contents.reduce((total, bytes) => total + bytes.length, 0),
      sha256: sha(Buffer.concat(contents)),
      files: FILES.map((name, i) => ({ name, bytes: contents[i]!.length, sha256: sha(contents[i]!) })),
    });
    await expect(writer.append(makeRows(1, DIM, 101))).rejects.toThrow(/closed/);
    await expect(writer.seal()).rejects.toThrow(/closed/);
    await writer.close();

    const again = await ShardWriter.open(dir, { dim: DIM, dtype: 'float16', committedRows: 9 });
    await again.append(makeRows(1, DIM, 102));
    expect((await again.seal()).rows).toBe(10);
  });

  itWithNumpy('leaves files numpy loads with mmap_mode="r" after each append and after recovery', async () => {
    const paths = FILES.map((name) => path.join(dir, name));
    const expectNumpySees = (rows: Rows, dtype: 'float16' | 'float32') => {
      const features = dtype === 'float16' ? toFloat16(rows.features) : rows.features;
      const count = rows.labels.length;
      expect(loadWithNumpy(paths)).toEqual({
        [paths[0]!]: { memmap: true, dtype: dtype === 'float16' ? '<f2' : '<f4', shape: [count, DIM], sha256: sha256Of(features) },
        [paths[1]!]: { memmap: true, dtype: '<i4', shape: [count], sha256: sha256Of(rows.labels) },
        [paths[2]!]: { memmap: true, dtype: '<i8', shape: [count], sha256: sha256Of(rows.imageIds) },
      });
    };
    const parts = [makeRows(3, DIM, 110, 0), makeRows(4, DIM, 111, 3)];
    const writer = await ShardWriter.open(dir, { dim: DIM, dtype: 'float16' });
    expectNumpySees(concatRows([]), 'float16');
    await writer.append(parts[0]!);
    expectNumpySees(parts[0]!, 'float16'); // while the writer is still open
    await writer.append(parts[1]!);
    expectNumpySees(concatRows(parts), 'float16');
    await writer.close();

    await fs.appendFile(paths[0]!, Buffer.alloc(13, 0xff)); // torn bytes past the header's rows
    const recovered = await ShardWriter.open(dir, { dim: DIM, dtype: 'float16', committedRows: 3 });
    await recovered.close();
    expectNumpySees(parts[0]!, 'float16');
  });
});
