import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { featureBatch, MessageOf } from '@featx/contracts';
import { FeatureBatchStore } from './feature-batch-store.service';

@Controller()
export class FeatureBatchController {
  constructor(private readonly batches: FeatureBatchStore) {}

  /**
   * Feature batches from the extractors: up to 128 taken at once, so that the batches of a set that
   * arrive while its last group commits are stored together in the next one (FeatureBatchStore).
   * 64 (not 16) doubled the store's rate in bench:scale; 128 lets the next group gather while one
   * commits (with 64, a group of 64 held every slot: receiving stopped for each commit, and the
   * first batch after it went alone). In flight at most 128 × max_payload (1 MiB by default).
   */
  @EventPattern(featureBatch.name, { durable: 'feature-store', maxDeliver: 10, ackWaitMs: 60000, concurrency: 128 })
  async storeBatch(@Payload() batch: MessageOf<typeof featureBatch>): Promise<void> {
    await this.batches.store(batch);
  }
}
