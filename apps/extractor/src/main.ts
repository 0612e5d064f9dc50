import 'reflect-metadata';
import { runService } from '@featx/runtime';
import { ExtractorModule } from './extractor.module';

runService(ExtractorModule.register());
