import { BadRequestException, Body, Get, HttpCode, NotFoundException, Param, PipeTransform, Post, Query, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { runPhaseSchema, TrainingConfig, trainingConfigSchema } from '@featx/contracts';
import type { PageRequest, RunImagePredictionSplit } from '@featx/db';
import { AdminController } from '../common/admin-controller.decorator';
import { CommandEndpoint } from '../common/command-endpoint.decorator';
import { ListEndpoint, ReadEndpoint } from '../common/read-endpoint.decorator';
import { openApiSchema, ZodBodyPipe } from '../common/zod-body.pipe';
import { OneOfQueryPipe } from '../common/one-of-query.pipe';
import { PagedList, PageQuery } from '../common/page-query';
import { UuidParam, UuidQuery } from '../common/uuid-param.pipe';
import { PLOT_FILES, PlotFile } from './run-plots';
import { RunPredictionsService } from './run-predictions.service';
import { RunsService } from './runs.service';

/** The plots there are; any other name is a 404, like any other unknown route. */
class PlotFilePipe implements PipeTransform<string, PlotFile> {
  transform(value: string): PlotFile {
    if (!(PLOT_FILES as readonly string[]).includes(value)) throw new NotFoundException(`no plot "${value}": expected one of ${PLOT_FILES.join(', ')}`);
    return value as PlotFile;
  }
}

const PREDICTION_SPLITS = ['validation', 'evaluation'] as const;

/** A class name in the query string (checked against the run's classes by the service); absent: any. */
class OptionalClassPipe implements PipeTransform<unknown, string | undefined> {
  constructor(private readonly name: string) {}

  transform(value: unknown): string | undefined {
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string' || value.length > 200) throw new BadRequestException(`${this.name}: expected one class name`);
    return value;
  }
}

/**
 * What the run views hold beyond their plain columns, for the docs: the phase, described by the
 * schema that checks it when the trainer records it.
 */
const RUN_VIEW = {
  type: 'object',
  properties: {
    phase: {
      ...openApiSchema(runPhaseSchema),
      nullable: true,
      description:
        'What the run is doing now, recorded by its trainer at most about once a second: standardizing (rows of the training split), ' +
        'choosing-l2 (the L2 candidates trained together: rows of their epochs, epoch k of epochs), choosing-head (head auto: epochs, candidates still training), ' +
        'waiting-for-shares (head auto split into child runs: shares done of total, how many training), training (epochs done of planned) ' +
        'or evaluating (rows of the validation and evaluation splits), with rowsPerSecond; null unless a trainer is working on the run',
    },
  },
};

@AdminController('runs', 'runs')
export class RunsController {
  constructor(
    private readonly service: RunsService,
    private readonly predictions: RunPredictionsService,
  ) {}

  @CommandEndpoint({
    summary: 'Train a classifier head on a complete feature set; published as the runs.create bus command with the run id chosen here',
    body: trainingConfigSchema,
    queued: 'Run queued: {commandId, runId, type, status}; follow it at GET /runs/{runId}',
    invalid: 'A field is invalid, or the feature set does not exist or is not complete (the message names the field)',
  })
  create(@Body(new ZodBodyPipe(trainingConfigSchema)) body: TrainingConfig) {
    return this.service.create(body);
  }

  @ListEndpoint({
    summary: 'List training runs, oldest first, each with its status, progress and phase (runs the trainer has not taken yet are not listed; nor are search shares unless parentRunId asks for them)',
    filter: { name: 'featureSetId', description: 'only the runs on this feature set' },
  })
  @ApiQuery({ name: 'parentRunId', required: false, description: 'list the search shares (child runs) of this head auto run instead' })
  @ApiResponse({
    status: 200,
    description: '{items, next}: the runs, each as GET /runs/{id} without epochMetrics; next is the cursor of the following page, null on the last',
    schema: { type: 'object', properties: { items: { type: 'array', items: RUN_VIEW }, next: { type: 'string', nullable: true } } },
  })
  list(@PageQuery() page: PageRequest, @UuidQuery('featureSetId') featureSetId?: string, @UuidQuery('parentRunId') parentRunId?: string) {
    return this.service.list(page, featureSetId, parentRunId);
  }

  @ReadEndpoint(':id', {
    summary: 'A run: configuration, status, progress (epochsDone of epochs, best epoch), what it is doing now (phase) and the metrics of every finished epoch',
    notFound: 'No such run',
  })
  @ApiResponse({ status: 200, description: 'The run', schema: RUN_VIEW })
  get(@UuidParam() id: string) {
    return this.service.get(id);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel a run; published as the runs.cancel bus command (a queued run is cancelled at once, a running one at its next batch)' })
  @ApiResponse({ status: 202, description: 'Cancel queued: {commandId, runId, type, status}' })
  @ApiResponse({ status: 404, description: 'No such run' })
  @ApiResponse({ status: 409, description: 'The run has already finished' })
  cancel(@UuidParam() id: string) {
    return this.service.cancel(id);
  }

  @ReadEndpoint(':id/report', {
    summary: 'The classification reports of a run, per split: accuracy, per-class precision/recall/F1/support, averages, the confusion matrix and the report text as scikit-learn prints it',
    notFound: 'No such run',
  })
  report(@UuidParam() id: string) {
    return this.service.report(id);
  }

  @ReadEndpoint(':id/predictions', {
    summary: 'The images behind a confusion matrix: each held-out image\'s true class, the class the run\'s final head predicted and its probability, in image id order',
    notFound: 'No such run',
  })
  @PagedList('the predictions of the split, narrowed to a confusion cell by true and predicted')
  @ApiQuery({ name: 'split', required: false, enum: PREDICTION_SPLITS, description: 'default evaluation' })
  @ApiQuery({ name: 'true', required: false, description: 'only images of this true class (a class name of the run)' })
  @ApiQuery({ name: 'predicted', required: false, description: 'only images predicted as this class' })
  @ApiResponse({ status: 409, description: 'The run has no per-image predictions: not evaluated yet, or trained before they were recorded' })
  predictionsOf(
    @UuidParam() id: string,
    @PageQuery() page: PageRequest,
    // The held-out split whose predictions are listed (absent: evaluation).
    @Query('split', new OneOfQueryPipe<RunImagePredictionSplit>('split', PREDICTION_SPLITS, 'evaluation')) split: RunImagePredictionSplit,
    @Query('true', new OptionalClassPipe('true')) trueClass: string | undefined,
    @Query('predicted', new OptionalClassPipe('predicted')) predictedClass: string | undefined,
  ) {
    return this.predictions.list(id, { split, trueClass, predictedClass }, page);
  }

  @ReadEndpoint(':id/artifacts', {
    summary: 'What the run\'s trainer published to the artifacts bucket (a JetStream object store): the model folder (model/...) and the report pictures, each with its size and digest',
    notFound: 'No such run',
  })
  artifacts(@UuidParam() id: string) {
    return this.service.artifacts(id);
  }

  @Get(':id/artifacts/:name')
  @ApiOperation({ summary: 'One published artifact of a run, streamed from the artifacts bucket over NATS; a name with folders is URL-encoded (model%2Fmodel.json)' })
  @ApiParam({ name: 'name', description: 'as GET /runs/{id}/artifacts lists it, e.g. confusion.png or model/featx-head.json' })
  @ApiProduces('application/octet-stream', 'image/svg+xml', 'image/png', 'application/json')
  @ApiResponse({ status: 200, description: 'The object\'s bytes' })
  @ApiResponse({ status: 404, description: 'No such run, or the run published no such artifact' })
  @ApiResponse({ status: 409, description: 'The object is not in the bucket as published (deleted or replaced since)' })
  async artifact(@UuidParam() id: string, @Param('name') name: string): Promise<StreamableFile> {
    const { record, body, contentType } = await this.service.artifact(id, name);
    const fileName = record.name.split('/').pop()!;
    return new StreamableFile(body, { type: contentType, length: record.bytes, disposition: `attachment; filename="${fileName}"` });
  }

  @Get(':id/plots/:file')
  @ApiOperation({ summary: 'A plot drawn now from the run\'s rows: training curves (loss and accuracy per epoch) or the confusion matrix of the evaluation split, as SVG or PNG' })
  @ApiParam({ name: 'file', enum: [...PLOT_FILES] })
  @ApiProduces('image/svg+xml', 'image/png')
  @ApiResponse({ status: 200, description: 'The image' })
  @ApiResponse({ status: 404, description: 'No such run, or no such plot' })
  @ApiResponse({ status: 409, description: 'Nothing to draw yet: no finished epoch (curves) or no evaluation of the evaluation split (confusion)' })
  async plot(@UuidParam() id: string, @Param('file', new PlotFilePipe()) file: PlotFile): Promise<StreamableFile> {
    const image = await this.service.plot(id, file);
    return new StreamableFile(image.body, { type: image.contentType, length: image.body.length, disposition: `inline; filename="${image.fileName}"` });
  }
}
