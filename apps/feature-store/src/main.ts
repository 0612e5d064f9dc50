import 'reflect-metadata';
import { runService } from '@featx/runtime';
import { FeatureStoreModule } from './feature-store.module';

runService(FeatureStoreModule.register());
