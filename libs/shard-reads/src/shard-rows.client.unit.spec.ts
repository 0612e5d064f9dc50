import { NoAnswerError, RemoteError } from '@featx/bus';
import { MessageOf, readShardRequest, ReplyOf } from '@featx/contracts';
import { ShardRowsClient, ShardRowsClientOptions } from './shard-rows.client';
import { rowsInOrder } from './rows-in-order';
import { StoreUnavailableError, StoreWait, StoreWaits } from './store-waits';

const DIM = 2;
const shard = (id: string, writer: string, rows: number) => ({ id: `00000000-0000-4000-8000-00000000000${id}`, writer, path: `set/training/${writer}-${id}`, rows });

/**
 * An in-memory bus of feature stores: each answers rows of its shards (row r of a shard has
 * features [r, -r], label r % 3 and image id 1000 + r), unless the test has stopped it, in which
 * case a request gets no answer, as NATS says when no one serves the subject.
 */
class FakeStores {
  readonly maxPayload = 1024 * 1024;
  readonly stopped = new Set<string>();
  readonly asked: Array<{ store: string; start: number; count: number; features?: boolean }> = [];
  /** A store from before `features: false`: sends the features anyway. */
  ignoresFeaturesOption = false;
  /** Rows per reply, to make the client gather a read from several replies. */
  replyRows = Infinity;
  refuse: string | undefined;

  async request(_contract: unknown, message: MessageOf<typeof readShardRequest>, options: { address?: string } = {}): Promise<ReplyOf<typeof readShardRequest>> {
    const store = options.address!;
    this.asked.push({ store, start: message.start, count: message.count, ...(message.features === undefined ? {} : { features: message.features }) });
    if (this.stopped.has(store)) throw new NoAnswerError(`no answer to features.read on x.${store}: 503`);
    if (this.refuse) throw new RemoteError(this.refuse);
    const rows = Math.min(message.count, this.replyRows);
    const values = new Float32Array(rows * DIM);
    for (let i = 0; i < rows; i++) values.set([message.start + i, -(message.start + i)], i * DIM);
    return {
      v: 2,
      dtype: 'float32',
      start: message.start,
      rows,
      dim: DIM,
      features: message.features === false && !this.ignoresFeaturesOption ? new Uint8Array(0) : new Uint8Array(values.buffer),
      labels: Array.from({ length: rows }, (_, i) => (message.start + i) % 3),
      imageIds: Array.from({ length: rows }, (_, i) => 1000 + message.start + i),
    };
  }
}

/** A client on a clock that moves only when it pauses: waits take no real time. */
function clientOn(stores: FakeStores, options: ShardRowsClientOptions = {}) {
  let now = Date.parse('2026-12-02T03:00:00Z');
  const pauses: number[] = [];
  const waits: Array<StoreWait | null> = [];
  const { sleep, ...rest } = options;
  const client = new ShardRowsClient(stores as never, {
    ...rest,
    now: () => now,
    sleep: async (ms) => {
      pauses.push(ms);
      now += ms;
      await sleep?.(ms);
    },
    onWait: (wait) => waits.push(wait),
  });
  return { client, pauses, waits, advance: (ms: number) => (now += ms) };
}

describe('ShardRowsClient', () => {
  it('asks the store that holds the shard and gives exactly the rows asked for, gathered over several replies', async () => {
    const stores = new FakeStores();
    stores.replyRows = 2;
    const { client, waits } = clientOn(stores);
    const rows = await client.read(shard('1', 'store-a', 10), 3, 5, DIM);
    expect(rows).toMatchObject({ start: 3, rows: 5, dtype: 'float32' });
    expect(Array.from(rows.features)).toEqual([3, -3, 4, -4, 5, -5, 6, -6, 7, -7]);
    expect(Array.from(rows.labels)).toEqual([0, 1, 2, 0, 1]);
    expect(Array.from(rows.imageIds!)).toEqual([1003, 1004, 1005, 1006, 1007]);
    expect(stores.asked).toEqual([
      { store: 'store-a', start: 3, count: 5 },
      { store: 'store-a', start: 5, count: 3 },
      { store: 'store-a', start: 7, count: 1 },
    ]);
    expect(waits).toEqual([]);
  });

  it('waits for a store that does not answer, with backoff, says so once, and clears it when the store answers', async () => {
    const stores = new FakeStores();
    stores.stopped.add('store-b');
    let tries = 0;
    const { client, pauses, waits } = clientOn(stores, {
      initialDelayMs: 100,
      maxDelayMs: 1000,
      sleep: async () => {
        if (++tries === 7) stores.stopped.delete('store-b'); // the store is back after 7 pauses
      },
    });
    const rows = await client.read(shard('2', 'store-b', 4), 0, 4, DIM);
    expect(Array.from(rows.imageIds!)).toEqual([1000, 1001, 1002, 1003]);
    expect(pauses).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(waits).toEqual([{ store: 'store-b', since: new Date('2026-12-02T03:00:00Z'), reason: expect.stringMatching(/^no answer for shard .*2: no answer to features.read/) }, null]);
    expect(client.waitingFor).toBeNull();
  });

  it('gives up after maxWaitMs with an error naming the store, never a partial answer', async () => {
    const stores = new FakeStores();
    stores.replyRows = 2;
    const { client, pauses } = clientOn(stores, { initialDelayMs: 1000, maxDelayMs: 4000, maxWaitMs: 10_000 });
    let replies = 0;
    const request = stores.request.bind(stores);
    stores.request = async (...args: Parameters<FakeStores['request']>) => {
      if (replies++ === 1) stores.stopped.add('store-a'); // stops after the first reply of the read
      return request(...args);
    };
    const failed = client.read(shard('3', 'store-a', 10), 0, 6, DIM);
    await expect(failed).rejects.toThrow(/^feature store "store-a" has not answered for 10 s \(no answer for shard \S+3: no answer to features.read on x.store-a: 503\); gave up$/);
    await expect(failed).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(pauses).toEqual([1000, 2000, 4000, 3000]);
  });

  it('does not ask again when the store answers with an error, nor once the reader is interrupted', async () => {
    const stores = new FakeStores();
    stores.refuse = 'shard 4 lives on feature store store-c, not store-a';
    const { client } = clientOn(stores);
    await expect(client.read(shard('4', 'store-a', 10), 0, 1, DIM)).rejects.toThrow('feature store "store-a": shard 4 lives on feature store store-c, not store-a');
    expect(stores.asked).toHaveLength(1);

    const silent = new FakeStores();
    silent.stopped.add('store-a');
    let cancelled = false;
    const { client: cancellable, pauses } = clientOn(silent, {
      sleep: async () => void (cancelled = pauses.length >= 2),
      beforeRetry: () => {
        if (cancelled) throw new Error('run cancelled');
      },
    });
    await expect(cancellable.read(shard('4', 'store-a', 10), 0, 1, DIM)).rejects.toThrow('run cancelled');
    expect(silent.asked).toHaveLength(2);
  });

  it('lets the reader name an abort that comes during the pause (a trainer shutting down releases its run)', async () => {
    const silent = new FakeStores();
    silent.stopped.add('store-a');
    const controller = new AbortController();
    const { client } = clientOn(silent, {
      signal: controller.signal,
      sleep: () => {
        controller.abort();
        return Promise.reject(controller.signal.reason);
      },
      beforeRetry: () => {
        if (controller.signal.aborted) throw new Error('trainer stopping: run released');
      },
    });
    await expect(client.read(shard('4', 'store-a', 10), 0, 1, DIM)).rejects.toThrow('trainer stopping: run released');
    expect(silent.asked).toHaveLength(1);
  });

  it('reports the oldest wait while several stores are silent, then the next, then none', () => {
    const seen: Array<string | null> = [];
    const waits = new StoreWaits((wait) => seen.push(wait && `${wait.store}@${wait.since.toISOString()}`));
    waits.noAnswer('store-b', 'x', new Date('2026-12-02T03:00:00Z'));
    waits.noAnswer('store-b', 'x', new Date('2026-12-02T03:00:05Z')); // same wait: no news
    waits.noAnswer('store-c', 'y', new Date('2026-12-02T03:00:02Z')); // younger: still store-b
    waits.answered('store-b');
    waits.answered('store-a'); // not waited for: no news
    waits.answered('store-c');
    expect(seen).toEqual(['store-b@2026-12-02T03:00:00.000Z', 'store-c@2026-12-02T03:00:02.000Z', null]);
  });
});

describe('reads without the features', () => {
  it('ask for labels and image ids only, in requests as large as fit without features, from new and old stores alike', async () => {
    for (const ignoresFeaturesOption of [false, true]) {
      const stores = new FakeStores();
      stores.ignoresFeaturesOption = ignoresFeaturesOption;
      const client = new ShardRowsClient(stores as never);
      const big = 1024 * 1024;
      expect(client.rowsPerRequest(big, 'float32', { features: false })).toBeGreaterThan(30_000);
      expect(client.rowsPerRequest(big, 'float32')).toBe(1);
      const got = [];
      for await (const rows of rowsInOrder(client, [{ shard: shard('7', 'store-a', 5000), rows: 5000 }], { dim: DIM, dtype: 'float32', features: false })) got.push(rows);
      expect(got.map((rows) => [rows.rows, rows.features.length, rows.labels.length])).toEqual([[5000, 0, 5000]]);
      expect(Array.from(got[0]!.imageIds!).slice(-2)).toEqual([5998, 5999]);
      expect(stores.asked).toEqual([{ store: 'store-a', start: 0, count: 5000, features: false }]);
    }
  });
});

describe('rowsInOrder', () => {
  it('reads the parts with requests in flight and yields their rows in shard order, whichever answers first', async () => {
    const stores = new FakeStores();
    const request = stores.request.bind(stores);
    // store-a answers slowly: its rows must still come first.
    const sent: string[] = [];
    stores.request = async (contract, message, options) => {
      sent.push(options!.address!);
      if (options?.address === 'store-a') await new Promise((resolve) => setTimeout(resolve, 20));
      return request(contract, message, options);
    };
    const client = new ShardRowsClient(stores as never);
    jest.spyOn(client, 'rowsPerRequest').mockReturnValue(3);
    const parts = [
      { shard: shard('5', 'store-a', 7), rows: 7 },
      { shard: shard('6', 'store-b', 5), rows: 4 }, // a snapshot of 4 of its 5 rows
    ];
    const got = [];
    for await (const rows of rowsInOrder(client, parts, { dim: DIM, dtype: 'float32', readAheadBytes: 4 * 3 * DIM * 4 })) got.push([rows.start, rows.rows, ...Array.from(rows.imageIds!)]);
    expect(got).toEqual([
      [0, 3, 1000, 1001, 1002],
      [3, 3, 1003, 1004, 1005],
      [6, 1, 1006],
      [0, 3, 1000, 1001, 1002],
      [3, 1, 1003],
    ]);
    // Four requests in flight at first: store-b was asked before store-a's first answer came.
    expect(sent.slice(0, 4)).toEqual(['store-a', 'store-a', 'store-a', 'store-b']);
  });
});
