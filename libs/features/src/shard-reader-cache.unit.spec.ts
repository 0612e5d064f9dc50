import path from 'node:path';
import { ShardError } from './errors';
import { ShardReader } from './shard-reader';
import { ShardReaderCache } from './shard-reader-cache';
import { ShardWriter } from './shard-writer';
import { makeTempDir, removeDir } from './testing/fixtures';
import { makeRows } from './testing/shard-rows';

const DIM = 4;

describe('ShardReaderCache', () => {
  let root: string;
  /** Shards on disk by id, with the rows "committed" for each, as a database would record them. */
  const committed = new Map<string, number>();
  const writers = new Map<string, ShardWriter>();
  let opens: string[];

  beforeAll(async () => {
    root = await makeTempDir('featx-reader-cache-');
    for (const [i, id] of ['a', 'b', 'c'].entries()) {
      const writer = await ShardWriter.open(path.join(root, id), { dim: DIM, dtype: 'float32' });
      await writer.append(makeRows(3, DIM, i, i * 100));
      writers.set(id, writer);
      committed.set(id, 3);
    }
  });
  afterAll(async () => {
    for (const writer of writers.values()) await writer.close();
    await removeDir(root);
  });

  function cache(maxOpen = 16): ShardReaderCache {
    opens = [];
    return new ShardReaderCache({
      maxOpen,
      open: async (shardId) => {
        opens.push(shardId);
        const rows = committed.get(shardId);
        if (rows === undefined) throw new Error(`shard ${shardId} does not exist`);
        return ShardReader.open(path.join(root, shardId), { rows });
      },
    });
  }

  it('opens a shard once for concurrent and later asks within its rows', async () => {
    const readers = cache();
    const [first, second] = await Promise.all([readers.reader('a', 1), readers.reader('a', 3)]);
    expect(first).toBe(second);
    expect(await readers.reader('a', 2)).toBe(first);
    expect(opens).toEqual(['a']);
    expect((await first.read(0, 3)).labels).toEqual(Int32Array.of(0, 1, 2));
    await readers.close();
  });

  it('reopens a shard that has grown past the rows its reader was opened with, closing the old one', async () => {
    const readers = cache();
    const old = await readers.reader('b', 3);
    await writers.get('b')!.append(makeRows(2, DIM, 9, 103));
    committed.set('b', 5);
    const grown = await readers.reader('b', 5);
    expect(grown).not.toBe(old);
    expect(grown.rows).toBe(5);
    await expect(old.read(0, 1)).rejects.toThrow(/is closed/);
    // Asking past the committed rows opens once more and gives what there is; the caller checks rows.
    expect((await readers.reader('b', 9)).rows).toBe(5);
    expect(opens).toEqual(['b', 'b', 'b']);
    await readers.close();
  });

  it('closes the least recently used reader past maxOpen', async () => {
    const readers = cache(2);
    const a = await readers.reader('a', 1);
    const b = await readers.reader('b', 1);
    await readers.reader('a', 1); // a is now more recent than b
    const c = await readers.reader('c', 1);
    expect(readers.size).toBe(2);
    await expect(b.read(0, 1)).rejects.toThrow(/is closed/);
    expect((await a.read(0, 1)).start).toBe(0);
    expect(await readers.reader('c', 1)).toBe(c);
    expect(opens).toEqual(['a', 'b', 'c']);
    await readers.close();
  });

  it('passes a failed open to every waiting ask and does not keep it', async () => {
    const readers = cache();
    const asks = await Promise.allSettled([readers.reader('nope', 1), readers.reader('nope', 1)]);
    expect(asks.map((ask) => ask.status)).toEqual(['rejected', 'rejected']);
    expect((asks[0] as PromiseRejectedResult).reason.message).toBe('shard nope does not exist');
    expect(readers.size).toBe(0);
    await expect(readers.reader('nope', 1)).rejects.toThrow('shard nope does not exist');
    expect(opens).toEqual(['nope', 'nope']);
    await readers.close();
  });

  it('closes every reader on close and refuses asks after it', async () => {
    const readers = cache();
    const a = await readers.reader('a', 1);
    const c = await readers.reader('c', 1);
    await readers.close();
    await expect(a.read(0, 1)).rejects.toThrow(/is closed/);
    await expect(c.read(0, 1)).rejects.toThrow(/is closed/);
    await expect(readers.reader('a', 1)).rejects.toThrow('the shard reader cache is closed');
  });

  it('refuses a bad maxOpen or rowsNeeded, naming it', async () => {
    expect(() => cache(0)).toThrow('maxOpen must be a positive integer, got 0');
    const readers = cache();
    await expect(readers.reader('a', -1)).rejects.toThrow(ShardError);
    await expect(readers.reader('a', 1.5)).rejects.toThrow('rowsNeeded must be a non-negative integer, got 1.5');
    await readers.close();
  });
});
