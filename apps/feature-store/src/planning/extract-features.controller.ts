import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { JetStreamContext } from '@featx/bus';
import { extractFeaturesCommand, MessageOf } from '@featx/contracts';
import { CommandPattern } from '@featx/runtime';
import { ExtractionPlanner, ExtractionPlan } from './extraction-planner.service';

@Controller()
export class ExtractFeaturesController {
  constructor(private readonly planner: ExtractionPlanner) {}

  /** `features.extract`: creates or resumes the feature set and publishes its work. */
  @CommandPattern(extractFeaturesCommand, { durable: 'feature-store-extract' })
  async extract(@Payload() command: MessageOf<typeof extractFeaturesCommand>, @Ctx() context: JetStreamContext): Promise<ExtractionPlan> {
    const { v: _version, id: _id, ...options } = command;
    return this.planner.plan(options, () => context.working());
  }
}
