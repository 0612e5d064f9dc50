import { Module } from '@nestjs/common';
import { CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';
import { DatasetRegistrationService } from './registration/dataset-registration.service';
import { RegisterDatasetController } from './registration/register-dataset.controller';

/** Registers datasets; also records commands on subjects no featx service handles. */
@Module({})
export class IngestModule {
  static register(config: FeatxConfig = loadConfig('ingest')) {
    return {
      module: IngestModule,
      imports: [CoreModule.forService('ingest', config, { unknownCommands: { durable: 'ingest-unknown-commands' } })],
      controllers: [RegisterDatasetController],
      providers: [DatasetRegistrationService],
    };
  }
}
