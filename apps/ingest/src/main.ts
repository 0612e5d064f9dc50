import 'reflect-metadata';
import { runService } from '@featx/runtime';
import { IngestModule } from './ingest.module';

runService(IngestModule.register());
