import type { FeatureBatch } from './batches';
import type { TrainBatchResult, TrainableHead } from './head';
import { trainedBatches } from './trained-batches';

// trainedBatches with an in-memory head whose step settles when the test says: the order of the
// source's reads and the steps is what is under test.
function batchesOf(count: number, log: string[]): AsyncIterable<FeatureBatch> {
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (let i = 0; i < count; i++) {
          log.push(`read ${i}`);
          await Promise.resolve();
          yield { features: Float32Array.of(i), labels: Int32Array.of(0), rows: 1 };
        }
      } finally {
        log.push('closed');
      }
    },
  };
}

function headWith(log: string[], async: boolean): TrainableHead {
  const step = (features: Float32Array): TrainBatchResult => ({ loss: features[0], correct: 1 });
  return {
    trainBatch: (features: Float32Array) => {
      log.push(`step ${features[0]}`);
      return step(features);
    },
    trainBatchAsync: async
      ? async (features: Float32Array) => {
          log.push(`step ${features[0]} starts`);
          await new Promise((resolve) => setTimeout(resolve, 5));
          log.push(`step ${features[0]} ends`);
          return step(features);
        }
      : undefined,
  } as unknown as TrainableHead;
}

describe('trainedBatches', () => {
  it('asks for the next batch while an async step runs, and yields every result in order', async () => {
    const log: string[] = [];
    const losses: number[] = [];
    for await (const { batch, result } of trainedBatches(headWith(log, true), batchesOf(3, log))) {
      expect(result.loss).toBe(batch.features[0]);
      losses.push(result.loss);
    }
    expect(losses).toEqual([0, 1, 2]);
    expect(log).toEqual(['read 0', 'step 0 starts', 'read 1', 'step 0 ends', 'step 1 starts', 'read 2', 'step 1 ends', 'step 2 starts', 'closed', 'step 2 ends']);
  });

  it('steps one batch after another with a head that has only trainBatch', async () => {
    const log: string[] = [];
    const results: TrainBatchResult[] = [];
    for await (const { result } of trainedBatches(headWith(log, false), batchesOf(2, log))) results.push(result);
    expect(results.map((r) => r.loss)).toEqual([0, 1]);
    expect(log).toEqual(['read 0', 'step 0', 'read 1', 'step 1', 'closed']);
  });

  it('stops before the step beforeStep refuses, and closes the source', async () => {
    for (const async of [true, false]) {
      const log: string[] = [];
      let steps = 0;
      const pass = async () => {
        for await (const _ of trainedBatches(headWith(log, async), batchesOf(5, log), {
          beforeStep: () => {
            if (steps++ === 2) throw new Error('run cancelled');
          },
        }));
      };
      await expect(pass()).rejects.toThrow('run cancelled');
      expect(log.filter((line) => line.startsWith('step') && !line.endsWith('ends')).length).toBe(2);
      expect(log.at(-1)).toBe('closed');
    }
  });
});
