import { Module } from '@nestjs/common';
import { CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';
import { ExtractFeaturesController } from './planning/extract-features.controller';
import { ExtractionPlanner } from './planning/extraction-planner.service';
import { FeatureBatchController } from './storage/feature-batch.controller';
import { FeatureBatchStore } from './storage/feature-batch-store.service';
import { ShardReadController } from './reading/shard-read.controller';
import { ShardReadService } from './reading/shard-read.service';
import { StoreRegistry } from './registry/store-registry.service';

/** Owns feature sets: plans extraction work, stores the feature batches that come back, serves their rows, keeps itself in the store registry. */
@Module({})
export class FeatureStoreModule {
  static register(config: FeatxConfig = loadConfig('feature-store')) {
    return {
      module: FeatureStoreModule,
      imports: [CoreModule.forService('feature-store', config, { address: config.features.storeId })],
      controllers: [ExtractFeaturesController, FeatureBatchController, ShardReadController],
      providers: [ExtractionPlanner, FeatureBatchStore, ShardReadService, StoreRegistry],
    };
  }
}
