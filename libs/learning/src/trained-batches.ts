import type { FeatureBatch } from './batches';
import type { TrainBatchOptions, TrainBatchResult, TrainableHead } from './head';

export interface TrainedBatch<B extends FeatureBatch> {
  batch: B;
  result: TrainBatchResult;
}

export interface TrainedBatchesOptions extends TrainBatchOptions {
  /** Called before each step starts; a throw stops the pass there (a run's cancellation). */
  beforeStep?: () => void;
}

/**
 * One training step of `head` on each batch of `batches`, in order. Where the head's step runs off
 * the JavaScript thread (`trainBatchAsync`: the onednn engine), the next batch is asked for as soon as
 * the step starts, so reading, receiving and decoding it run beside the step instead of after it (the
 * trainer end to end at 100,352 values: the step had blocked the thread for the whole kernel pass).
 *
 * The source may therefore be one batch ahead of the step: it must not change a batch it has yielded
 * until it yields the one after (`rebatch` yields new arrays). With `featuresKeptUntilNextStep`
 * the next step also reads this batch's features, so the source must leave a batch as it is until
 * the second batch after it has been yielded (the trainer's stream fills three buffers in turn).
 */
export async function* trainedBatches<B extends FeatureBatch>(
  head: TrainableHead,
  batches: AsyncIterable<B>,
  options: TrainedBatchesOptions = {},
): AsyncGenerator<TrainedBatch<B>> {
  const { beforeStep, ...stepOptions } = options;
  if (!head.trainBatchAsync) {
    for await (const batch of batches) {
      beforeStep?.();
      yield { batch, result: head.trainBatch(batch.features, batch.labels, stepOptions) };
    }
    return;
  }
  const iterator = batches[Symbol.asyncIterator]();
  let following: Promise<IteratorResult<B>> | undefined;
  try {
    let next = await iterator.next();
    while (!next.done) {
      const batch = next.value;
      beforeStep?.();
      const step = head.trainBatchAsync(batch.features, batch.labels, stepOptions);
      following = iterator.next();
      following.catch(() => undefined); // surfaced when awaited below
      const result = await step;
      yield { batch, result };
      next = await following;
      following = undefined;
    }
  } finally {
    // A source stopped early (a failed step, a cancelled run) is closed once its pending read is in.
    if (following) await following.catch(() => undefined);
    await iterator.return?.();
  }
}
