import { Module } from '@nestjs/common';
import { CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';
import { NetworkCache } from './extraction/network-cache.service';
import { WorkController } from './extraction/work.controller';
import { WorkItemProcessor } from './extraction/work-item-processor.service';

/** Turns work items (image refs) into feature batches; run as many replicas as there are cores. */
@Module({})
export class ExtractorModule {
  static register(config: FeatxConfig = loadConfig('extractor')) {
    return {
      module: ExtractorModule,
      imports: [CoreModule.forService('extractor', config, { consumers: { extractor: { concurrency: config.vision.extractConcurrency } } })],
      controllers: [WorkController],
      providers: [NetworkCache, WorkItemProcessor],
    };
  }
}
