import { Module } from '@nestjs/common';
import { CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';
import { ExtractFeaturesConsumer } from './planning/extract-features.consumer';
import { ExtractionPlanner } from './planning/extraction-planner.service';
import { FeatureBatchConsumer } from './storage/feature-batch.consumer';
import { FeatureBatchStore } from './storage/feature-batch-store.service';
import { ShardReadServer } from './reading/shard-read.server';

/** Owns feature sets: plans extraction work, stores the feature batches that come back, serves their rows. */
@Module({})
export class FeatureStoreModule {
  static register(config: FeatxConfig = loadConfig('feature-store')) {
    return {
      module: FeatureStoreModule,
      imports: [CoreModule.forService('feature-store', config)],
      providers: [ExtractionPlanner, ExtractFeaturesConsumer, FeatureBatchStore, FeatureBatchConsumer, ShardReadServer],
    };
  }
}
