import 'reflect-metadata';
import { runService } from '@featx/runtime';
import { ApiModule } from './api.module';
import { configureApi } from './configure-api';

runService(ApiModule.register(), configureApi);
