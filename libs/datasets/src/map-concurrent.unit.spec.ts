import { collect } from './testing/fixtures';
import { mapConcurrent } from './map-concurrent';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mapConcurrent', () => {
  async function* numbers(count: number, pulled?: { count: number }): AsyncGenerator<number> {
    for (let i = 0; i < count; i++) {
      if (pulled) pulled.count++;
      yield i;
    }
  }

  it('keeps source order whatever order the calls finish in', async () => {
    const delays = [30, 1, 20, 5, 0, 12, 3, 25, 8, 2, 15, 0];
    const results = await collect(
      mapConcurrent(numbers(delays.length), 4, async (n, index) => {
        await sleep(delays[n]);
        return `${n}:${index}`;
      }),
    );
    expect(results).toEqual(delays.map((_, i) => `${i}:${i}`));
  });

  it('never has more than `concurrency` calls in flight, nor pulls further ahead', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const pulled = { count: 0 };
    let consumed = 0;
    for await (const _ of mapConcurrent(numbers(50, pulled), 8, async (n) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(n % 3);
      inFlight--;
      return n;
    })) {
      consumed++;
      expect(pulled.count - consumed).toBeLessThanOrEqual(8);
    }
    expect(consumed).toBe(50);
    expect(maxInFlight).toBe(8);
  });

  it('accepts plain iterables and empty sources, and runs sync functions', async () => {
    await expect(collect(mapConcurrent([1, 2, 3], 2, (n) => n * 10))).resolves.toEqual([10, 20, 30]);
    await expect(collect(mapConcurrent([], 2, (n: number) => n))).resolves.toEqual([]);
  });

  it('ends with the first failure, after the results before it', async () => {
    const seen: number[] = [];
    const failing = mapConcurrent(numbers(10), 3, async (n) => {
      await sleep(n === 4 ? 5 : 1);
      if (n === 4 || n === 5) throw new Error(`failed on ${n}`);
      return n;
    });
    await expect(
      (async () => {
        for await (const n of failing) seen.push(n);
      })(),
    ).rejects.toThrow('failed on 4');
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('passes on a failure of the source', async () => {
    async function* broken(): AsyncGenerator<number> {
      yield 1;
      throw new Error('source broke');
    }
    await expect(collect(mapConcurrent(broken(), 2, (n) => n))).rejects.toThrow('source broke');
  });

  it('stops pulling and closes the source when the consumer stops early', async () => {
    const pulled = { count: 0 };
    let closed = false;
    async function* source(): AsyncGenerator<number> {
      try {
        yield* numbers(1000, pulled);
      } finally {
        closed = true;
      }
    }
    for await (const n of mapConcurrent(source(), 4, async (n) => n)) {
      if (n === 2) break;
    }
    expect(closed).toBe(true);
    expect(pulled.count).toBeLessThanOrEqual(3 + 4);
  });

  it('refuses a concurrency that is not a positive integer', async () => {
    await expect(collect(mapConcurrent([1], 0, (n) => n))).rejects.toThrow(RangeError);
    await expect(collect(mapConcurrent([1], 1.5, (n) => n))).rejects.toThrow(RangeError);
  });
});
