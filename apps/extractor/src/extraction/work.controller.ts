import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { JetStreamContext } from '@featx/bus';
import { extractWorkItem, MessageOf } from '@featx/contracts';
import { WorkItemProcessor } from './work-item-processor.service';

@Controller()
export class WorkController {
  constructor(private readonly processor: WorkItemProcessor) {}

  /**
   * All extractor replicas pull from one durable consumer: adding a replica adds throughput.
   * A work item may take minutes on a slow CPU, hence the long ack wait.
   */
  @EventPattern(extractWorkItem.name, { durable: 'extractor', maxDeliver: 5, ackWaitMs: 120000 })
  async extract(@Payload() work: MessageOf<typeof extractWorkItem>, @Ctx() context: JetStreamContext): Promise<void> {
    await this.processor.process(work, context);
  }
}
