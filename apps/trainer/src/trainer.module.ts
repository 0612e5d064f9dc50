import { Module } from '@nestjs/common';
import { CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';
import { CandidateTraining } from './runs/candidate-training.service';
import { EpochLoop } from './runs/epoch-loop.service';
import { HeadPasses } from './runs/head-passes.service';
import { HeadSearch } from './runs/head-search.service';
import { L2Search } from './runs/l2-search.service';
import { RunCommandsController } from './runs/run-commands.controller';
import { RunEvents } from './runs/run-events.service';
import { RunExecutor } from './runs/run-executor.service';
import { RunPreparation } from './runs/run-preparation.service';
import { RunPublication } from './runs/run-publication.service';
import { RunReports } from './runs/run-reports.service';
import { RunScheduler } from './runs/run-scheduler.service';
import { SearchShares } from './runs/search-shares.service';
import { ShareSearch } from './runs/share-search.service';
import { TrainerSlots } from './runs/trainer-slots';
import { SplitStreams } from './runs/split-streams.service';
import { TrainingStart } from './runs/training-start.service';

/** Trains heads on stored features: queued runs, a configured number at a time, resumable. */
@Module({})
export class TrainerModule {
  static register(config: FeatxConfig = loadConfig('trainer')) {
    return {
      module: TrainerModule,
      imports: [CoreModule.forService('trainer', config)],
      controllers: [RunCommandsController],
      providers: [
        RunEvents,
        SplitStreams,
        HeadPasses,
        CandidateTraining,
        RunPreparation,
        L2Search,
        HeadSearch,
        TrainerSlots,
        ShareSearch,
        SearchShares,
        TrainingStart,
        EpochLoop,
        RunReports,
        RunPublication,
        RunExecutor,
        RunScheduler,
      ],
    };
  }
}
