import { Module } from '@nestjs/common';
import { consumerProvisioner, CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';

/** Extractor replicas share one durable pull consumer on the work stream. */
@Module({})
export class ExtractorModule {
  static register(config: FeatxConfig = loadConfig('extractor')) {
    return {
      module: ExtractorModule,
      imports: [CoreModule.forService('extractor', config)],
      providers: [
        consumerProvisioner((names) => [
          { stream: names.streams.work, durable: 'extractor', filterSubject: names.subjects.extractWork, maxDeliver: 5, ackWaitMs: 60000, maxAckPending: 64 },
        ]),
      ],
    };
  }
}
