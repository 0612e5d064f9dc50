import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { BusClient, JetStreamContext } from '@featx/bus';
import { datasetRegisteredEvent, MessageOf, registerDatasetCommand } from '@featx/contracts';
import { CommandPattern } from '@featx/runtime';
import { DatasetRegistrationService, RegistrationResult } from './dataset-registration.service';

@Controller()
export class RegisterDatasetController {
  constructor(
    private readonly registration: DatasetRegistrationService,
    private readonly client: BusClient,
  ) {}

  /** `datasets.register` from the API or any NATS client: scans the folder and records its images. */
  @CommandPattern(registerDatasetCommand, { durable: 'ingest-datasets-register' })
  async register(@Payload() command: MessageOf<typeof registerDatasetCommand>, @Ctx() context: JetStreamContext): Promise<RegistrationResult> {
    const { v: _version, id: _id, ...options } = command;
    const result = await this.registration.register(options, () => context.working());
    const { datasetId, images, added, changed, removed } = result;
    // A notification: a lost event loses no data (the dataset row is the record).
    await this.client.dispatch(datasetRegisteredEvent, { v: 1, datasetId, images, added, changed, removed }).catch(() => undefined);
    return result;
  }
}
