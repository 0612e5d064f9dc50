import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { featureBatch, MessageOf } from '@featx/contracts';
import { FeatureBatchStore } from './feature-batch-store.service';

@Controller()
export class FeatureBatchController {
  constructor(private readonly batches: FeatureBatchStore) {}

  /** Feature batches from the extractors, stored as they come (two at once; each set takes turns). */
  @EventPattern(featureBatch.name, { durable: 'feature-store', maxDeliver: 10, ackWaitMs: 60000, concurrency: 2 })
  async storeBatch(@Payload() batch: MessageOf<typeof featureBatch>): Promise<void> {
    await this.batches.store(batch);
  }
}
