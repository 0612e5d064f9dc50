import { Module } from '@nestjs/common';
import { CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';
import { NetworkCache } from './extraction/network-cache.service';
import { WorkConsumer } from './extraction/work.consumer';
import { WorkItemProcessor } from './extraction/work-item-processor.service';

/** Turns work items (image refs) into feature batches; run as many replicas as there are cores. */
@Module({})
export class ExtractorModule {
  static register(config: FeatxConfig = loadConfig('extractor')) {
    return {
      module: ExtractorModule,
      imports: [CoreModule.forService('extractor', config)],
      providers: [NetworkCache, WorkItemProcessor, WorkConsumer],
    };
  }
}
