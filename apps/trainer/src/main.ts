import 'reflect-metadata';
import { runService } from '@featx/runtime';
import { TrainerModule } from './trainer.module';

runService(TrainerModule.register());
