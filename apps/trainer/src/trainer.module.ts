import { Module } from '@nestjs/common';
import { CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';
import { RunCommandsController } from './runs/run-commands.controller';
import { RunExecutor } from './runs/run-executor.service';
import { RunScheduler } from './runs/run-scheduler.service';

/** Trains heads on stored features: queued runs, a configured number at a time, resumable. */
@Module({})
export class TrainerModule {
  static register(config: FeatxConfig = loadConfig('trainer')) {
    return {
      module: TrainerModule,
      imports: [CoreModule.forService('trainer', config)],
      controllers: [RunCommandsController],
      providers: [RunExecutor, RunScheduler],
    };
  }
}
