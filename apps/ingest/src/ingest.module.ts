import { Module } from '@nestjs/common';
import { CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';
import { DatasetRegistrationService } from './registration/dataset-registration.service';
import { RegisterDatasetConsumer } from './registration/register-dataset.consumer';
import { UnknownCommandsConsumer } from './registration/unknown-commands.consumer';

@Module({})
export class IngestModule {
  static register(config: FeatxConfig = loadConfig('ingest')) {
    return {
      module: IngestModule,
      imports: [CoreModule.forService('ingest', config)],
      providers: [DatasetRegistrationService, RegisterDatasetConsumer, UnknownCommandsConsumer],
    };
  }
}
