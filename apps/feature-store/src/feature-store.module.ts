import { Module } from '@nestjs/common';
import { consumerProvisioner, CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';

/** The feature store consumes feature batches from the features stream. */
@Module({})
export class FeatureStoreModule {
  static register(config: FeatxConfig = loadConfig('feature-store')) {
    return {
      module: FeatureStoreModule,
      imports: [CoreModule.forService('feature-store', config)],
      providers: [
        consumerProvisioner((names) => [
          { stream: names.streams.features, durable: 'feature-store', filterSubject: names.subjects.featureBatch, maxDeliver: 10, ackWaitMs: 60000, maxAckPending: 16 },
        ]),
      ],
    };
  }
}
