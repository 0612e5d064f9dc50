import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { MessageOf, readShardReply, readShardRequest } from '@featx/contracts';
import { ShardReadService } from './shard-read.service';

@Controller()
export class ShardReadController {
  constructor(private readonly shards: ShardReadService) {}

  /**
   * Shard rows over NATS request/reply, so a trainer on another machine (no shared disk) reads
   * features at its own pace. Addressed to this store's id: shards live on their writer's disk;
   * replicas sharing one disk and store id split the load.
   */
  @MessagePattern(readShardRequest.name, { queue: 'feature-store', addressed: true })
  read(@Payload() request: MessageOf<typeof readShardRequest>): Promise<MessageOf<typeof readShardReply>> {
    return this.shards.read(request);
  }
}
