import { Inject, Injectable } from '@nestjs/common';
import { Split } from '@featx/contracts';
import { BusClient } from '@featx/bus';
import { prepareInputsInPlace } from '@featx/learning';
import { CONFIG, FeatxConfig } from '@featx/runtime';
import { streamSplit, StreamBatch } from '../data/feature-stream';
import { openShardRowSource } from '../data/shard-row-sources';
import { ShardRowsClient } from '@featx/shard-reads';
import { heldOutFilter, RunContext, throwIfInterrupted } from './run-context';

export interface SplitPass {
  order: 'shuffled' | 'sequential';
  /** Picks the shuffled order (a new one each epoch). */
  epoch: number;
  /** Standardized with the run's statistics, where it has them (default); false: not standardized (power-normalized where the run asks for it). */
  standardize?: boolean;
  /** As stored: neither normalized nor standardized (the head search prepares each candidate's inputs itself). */
  raw?: boolean;
  /** The split's mirrors (context.mirrors: validation or evaluation) instead of its images. */
  mirrors?: boolean;
}

/**
 * A run's split as batches, streamed as they are consumed from the feature stores that hold its
 * shards (or the shard files: FEATX_TRAINER_READ). Where the run holds out its validation split,
 * the training and validation splits are the training shards' rows without and with the held-out images.
 */
@Injectable()
export class SplitStreams {
  constructor(
    private readonly client: BusClient,
    @Inject(CONFIG) private readonly config: FeatxConfig,
  ) {}

  async *stream(context: RunContext, split: Split, pass: SplitPass): AsyncGenerator<StreamBatch> {
    const { read, readAheadBytes, storeWaitMs } = this.config.training;
    const source = openShardRowSource(read, this.client, this.config.features.dir, {
      timeoutMs: this.config.features.readTimeoutMs,
      maxWaitMs: storeWaitMs,
      // A store that does not answer is waited for (the run's phase names it) until it is back,
      // unless the run is cancelled, taken over or the trainer stops meanwhile.
      onWait: (wait) => context.phase.waiting(wait),
      signal: context.flags.signal,
      beforeRetry: () => throwIfInterrupted(context.flags),
    });
    try {
      for await (const batch of streamSplit(source, pass.mirrors ? mirrorShards(context, split) : context.shards[split], {
        dim: context.dim,
        dtype: context.set.dtype,
        // One chunk per bus reply, whichever source reads it, so that epochs do not depend on it.
        chunkRows: new ShardRowsClient(this.client).rowsPerRequest(context.dim, context.set.dtype),
        readAheadBytes,
        batchRows: context.config.batchSize,
        order: pass.order,
        seed: context.config.seed,
        epoch: pass.epoch,
        shuffleBufferRows: context.config.shuffleBuffer,
        keepRow: heldOutFilter(context, split),
      })) {
        if (!pass.raw) prepareInputsInPlace(batch.features.subarray(0, batch.rows * context.dim), context.dim, context.config.normalize, (pass.standardize ?? true) ? context.standardization : null);
        yield batch;
      }
    } finally {
      await source.close();
    }
  }
}

function mirrorShards(context: RunContext, split: Split) {
  if (!context.mirrors || split === 'training') throw new Error(`run ${context.run.id} has no mirrors of its ${split} split`);
  return context.mirrors[split];
}
