import { Injectable } from '@nestjs/common';
import { Split } from '@featx/contracts';
import { BusClient } from '@featx/bus';
import { standardizeInPlace } from '@featx/learning';
import { streamSplit, StreamBatch } from '../data/feature-stream';
import { ShardRowsClient } from '../data/shard-rows.client';
import { RunContext } from './run-context';

export interface SplitPass {
  order: 'shuffled' | 'sequential';
  /** Picks the shuffled order (a new one each epoch). */
  epoch: number;
  /** Standardized with the run's statistics, where it has them (default); false: as stored. */
  standardize?: boolean;
}

/** A run's split as batches, streamed from the feature store as they are consumed. */
@Injectable()
export class SplitStreams {
  constructor(private readonly client: BusClient) {}

  async *stream(context: RunContext, split: Split, pass: SplitPass): AsyncGenerator<StreamBatch> {
    const client = new ShardRowsClient(this.client);
    for await (const batch of streamSplit(client, context.shards[split], {
      dim: context.dim,
      batchRows: context.config.batchSize,
      order: pass.order,
      seed: context.config.seed,
      epoch: pass.epoch,
      shuffleBufferRows: context.config.shuffleBuffer,
    })) {
      if ((pass.standardize ?? true) && context.standardization) standardizeInPlace(batch.features, context.standardization);
      yield batch;
    }
  }
}
