import type { ServerResponse } from 'node:http';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ExtractFeaturesOptions, extractFeaturesOptionsSchema } from '@featx/contracts';
import { openApiSchema, ZodBodyPipe } from '../common/zod-body.pipe';
import { OptionalUuidQueryPipe, UuidParamPipe } from '../common/uuid-param.pipe';
import { FeatureSetsService } from './feature-sets.service';
import { EXPORT_HEADERS, ExportQuery, exportQuerySchema } from './feature-export.service';

@ApiTags('feature-sets')
@ApiBearerAuth()
@Controller('feature-sets')
export class FeatureSetsController {
  constructor(private readonly service: FeatureSetsService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Extract features of a dataset (or resume the set with the same options); published as the features.extract bus command' })
  @ApiBody({ schema: openApiSchema(extractFeaturesOptionsSchema) })
  @ApiResponse({ status: 202, description: 'Command queued; follow it at GET /commands/{commandId}, whose result names the featureSetId' })
  @ApiResponse({ status: 400, description: 'A field is invalid, the dataset does not exist, or the model folder is outside the data roots' })
  extract(@Body(new ZodBodyPipe(extractFeaturesOptionsSchema)) body: ExtractFeaturesOptions) {
    return this.service.extract(body);
  }

  @Get()
  @ApiOperation({ summary: 'List feature sets with their progress' })
  @ApiQuery({ name: 'datasetId', required: false, description: 'only the sets of this dataset' })
  list(@Query('datasetId', new OptionalUuidQueryPipe('datasetId')) datasetId?: string) {
    return this.service.list(datasetId);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A feature set with its progress: done, total, percent, images per second (this run), ETA' })
  @ApiResponse({ status: 404, description: 'No such feature set' })
  get(@Param('id', new UuidParamPipe('id')) id: string) {
    return this.service.get(id);
  }

  @Get(':id/shards')
  @ApiOperation({ summary: 'The NumPy shards of a feature set, per split' })
  @ApiResponse({ status: 404, description: 'No such feature set' })
  shards(@Param('id', new UuidParamPipe('id')) id: string) {
    return this.service.shards(id);
  }

  @Get(':id/failures')
  @ApiOperation({ summary: 'Images that could not be turned into a vector, with the reason, newest first' })
  @ApiQuery({ name: 'limit', required: false, description: '1-1000, default 1000' })
  @ApiResponse({ status: 404, description: 'No such feature set' })
  failures(@Param('id', new UuidParamPipe('id')) id: string, @Query('limit') limit?: string) {
    return this.service.failures(id, Math.min(Math.max(Number(limit) || 1000, 1), 1000));
  }

  @Get(':id/export')
  @ApiOperation({
    summary: 'A split of a feature set as one file, streamed: the tutorial\'s CSV (label,v1,...,vD per image) or one array as a single .npy',
    description:
      'Only committed rows (feature_shards.rows) are exported, shard after shard in index order. ' +
      `${EXPORT_HEADERS.rows} gives the rows; ${EXPORT_HEADERS.snapshot} the rows taken from each shard, which the snapshot query takes back ` +
      'so that the arrays of a split fetched one by one line up while extraction goes on.',
  })
  @ApiQuery({ name: 'format', required: true, enum: ['csv', 'npy'] })
  @ApiQuery({ name: 'split', required: true, enum: ['training', 'validation', 'evaluation'] })
  @ApiQuery({ name: 'array', required: false, enum: ['features', 'labels', 'image_ids'], description: 'npy only; default features' })
  @ApiQuery({ name: 'snapshot', required: false, description: `the ${EXPORT_HEADERS.snapshot} header of an earlier export of the split` })
  @ApiProduces('text/csv', 'application/octet-stream')
  @ApiResponse({ status: 200, description: 'The file, with a content-disposition filename' })
  @ApiResponse({ status: 400, description: 'A query field is missing or invalid (the message names it)' })
  @ApiResponse({ status: 404, description: 'No such feature set' })
  @ApiResponse({ status: 409, description: 'The split has no shards (or no committed rows) yet' })
  async export(
    @Param('id', new UuidParamPipe('id')) id: string,
    @Query(new ZodBodyPipe(exportQuerySchema)) query: ExportQuery,
    @Res() response: ServerResponse,
  ): Promise<void> {
    await this.service.sendExport(response, await this.service.export(id, query));
  }
}
