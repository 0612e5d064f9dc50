import { selectBackend } from '@featx/vision';
import { FeatureBatch, rebatch } from './batches';
import { evaluate, trainEpoch } from './epoch';
import { createHead } from './head';
import { L2_GRID, selectL2 } from './l2-selection';
import { batchesOf, clusters, slice } from './testing/synthetic';

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

/** The data as batches of the given sizes, in order. */
async function* unevenBatches(data: ReturnType<typeof clusters>, sizes: number[]): AsyncGenerator<FeatureBatch> {
  let start = 0;
  for (let i = 0; start < data.rows; i++) {
    const count = Math.min(sizes[i % sizes.length], data.rows - start);
    yield slice(data, start, count);
    start += count;
  }
}

describe('rebatch', () => {
  it('re-cuts uneven batches into exact batches, keeping every row in order', async () => {
    const data = clusters(103, 5, 3, 1);
    const batches = await collect(rebatch(unevenBatches(data, [7, 32, 1, 50, 13]), 32));
    expect(batches.map((b) => b.rows)).toEqual([32, 32, 32, 7]);
    batches.forEach((b) => {
      expect(b.features.length).toBe(b.rows * 5);
      expect(b.labels.length).toBe(b.rows);
    });
    const features = new Float32Array(103 * 5);
    const labels = new Int32Array(103);
    let at = 0;
    for (const b of batches) {
      features.set(b.features, at * 5);
      labels.set(b.labels, at);
      at += b.rows;
    }
    expect(features).toEqual(data.features);
    expect(labels).toEqual(data.labels);
  });

  it('passes batches of the right size through untouched', async () => {
    const data = clusters(64, 4, 2, 1);
    const source = await collect(batchesOf(data, 32));
    const out = await collect(rebatch(batchesOf(data, 32), 32));
    expect(out[0].features.buffer).toBe(source[0].features.buffer);
    await expect(collect(rebatch(batchesOf(data, 32), 0))).rejects.toThrow(/batchSize/);
  });
});

describe('trainEpoch and evaluate', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
  });

  it('trains one step per batch, reports progress, and evaluates a split', async () => {
    const head = createHead({ kind: 'mlp', inputDim: 16, classes: 4 }, 1, { kind: 'adam', learningRate: 0.01 });
    const train = clusters(300, 16, 4, 2, 0);
    const progress: number[] = [];
    let result = await trainEpoch(head, unevenBatches(train, [50, 17]), { batchSize: 32, onBatch: (p) => void progress.push(p.rows) });
    expect(result).toMatchObject({ batches: 10, rows: 300, aborted: false });
    expect(progress).toEqual([32, 64, 96, 128, 160, 192, 224, 256, 288, 300]);
    expect(head.step).toBe(10);
    expect(result.rowsPerSecond).toBeGreaterThan(0);
    expect(result.trainMs).toBeLessThanOrEqual(result.elapsedMs);
    for (let epoch = 0; epoch < 4; epoch++) result = await trainEpoch(head, batchesOf(train, 32));
    expect(result.accuracy).toBeGreaterThan(0.95);

    const heldOut = clusters(90, 16, 4, 2, 1);
    const evaluation = await evaluate(head, batchesOf(heldOut, 1000), { maxBatchRows: 20 });
    expect(evaluation.rows).toBe(90);
    expect(Array.from(evaluation.truth)).toEqual(Array.from(heldOut.labels));
    const correct = evaluation.predicted.filter((p, i) => p === evaluation.truth[i]).length;
    expect(evaluation.accuracy).toBeCloseTo(correct / 90, 10);
    expect(evaluation.accuracy).toBeGreaterThan(0.95);
    expect(evaluation.loss).toBeGreaterThan(0);
    head.dispose();
  });

  it('stops at the next batch once aborted, keeping the steps done', async () => {
    const head = createHead({ kind: 'logistic', inputDim: 8, classes: 2 }, 1);
    const data = clusters(320, 8, 2, 3);
    const controller = new AbortController();
    const result = await trainEpoch(head, batchesOf(data, 32), {
      signal: controller.signal,
      onBatch: (p) => {
        if (p.batches === 3) controller.abort();
      },
    });
    expect(result).toMatchObject({ aborted: true, batches: 3, rows: 96 });
    expect(head.step).toBe(3);
    const stopped = await trainEpoch(head, batchesOf(data, 32), { shouldStop: () => true });
    expect(stopped).toMatchObject({ aborted: true, batches: 0, rows: 0 });
    head.dispose();
  });
});

describe('selectL2', () => {
  it('picks the candidate with the lowest validation loss, skipping diverged ones', () => {
    expect(selectL2(L2_GRID, [0.9, 0.4, Number.NaN, 0.4, 2])).toBe(1e-3);
    expect(selectL2(L2_GRID, [Number.NaN, Number.POSITIVE_INFINITY, 3, 0.5, 0.2])).toBe(1);
    expect(() => selectL2([1], [Number.NaN])).toThrow(/finite/);
    expect(() => selectL2(L2_GRID, [0.1])).toThrow(/1 scores for 5 candidates/);
  });
});
