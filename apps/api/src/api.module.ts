import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';
import { ApiTokenGuard } from './auth/api-token.guard';
import { ApiTokenService } from './auth/api-token.service';
import { SignInCodesService } from './auth/sign-in-codes.service';
import { SignInController } from './auth/sign-in.controller';
import { CommandsController } from './commands/commands.controller';
import { InvalidCursorFilter } from './common/page-query';
import { DatasetsController } from './datasets/datasets.controller';
import { DatasetsService } from './datasets/datasets.service';
import { BusEventsService } from './events/bus-events.service';
import { EventsController } from './events/events.controller';
import { FeatureSetsController } from './feature-sets/feature-sets.controller';
import { FeatureSetsService } from './feature-sets/feature-sets.service';
import { FeatureStoresController } from './feature-stores/feature-stores.controller';
import { FeatureStoresService } from './feature-stores/feature-stores.service';
import { ImagesController } from './images/images.controller';
import { ThumbnailsService } from './images/thumbnails.service';
import { PredictionsController } from './predictions/predictions.controller';
import { PredictionsService } from './predictions/predictions.service';
import { TrainedModelsService } from './predictions/trained-models.service';
import { RunsController } from './runs/runs.controller';
import { RunPredictionsService } from './runs/run-predictions.service';
import { RunsService } from './runs/runs.service';

@Module({})
export class ApiModule {
  static register(config: FeatxConfig = loadConfig('api')) {
    return {
      module: ApiModule,
      imports: [CoreModule.forService('api', config)],
      controllers: [DatasetsController, FeatureSetsController, FeatureStoresController, RunsController, PredictionsController, CommandsController, EventsController, ImagesController, SignInController],
      providers: [ApiTokenService, { provide: APP_GUARD, useClass: ApiTokenGuard }, { provide: APP_FILTER, useClass: InvalidCursorFilter }, DatasetsService, FeatureSetsService, FeatureStoresService, RunsService, TrainedModelsService, PredictionsService, BusEventsService, RunPredictionsService, ThumbnailsService, SignInCodesService],
    };
  }
}
