import { Body, Controller, Get, HttpCode, Param, PipeTransform, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ExtractFeaturesOptions, extractFeaturesOptionsSchema } from '@featx/contracts';
import { openApiSchema, ZodBodyPipe } from '../common/zod-body.pipe';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { FeatureSetsService } from './feature-sets.service';

/** An optional UUID in the query string: absent stays undefined, anything else must be a UUID. */
class OptionalUuidQueryPipe implements PipeTransform<string | undefined, string | undefined> {
  private readonly uuid: UuidParamPipe;
  constructor(name: string) {
    this.uuid = new UuidParamPipe(name);
  }

  transform(value: string | undefined): string | undefined {
    return value === undefined || value === '' ? undefined : this.uuid.transform(value);
  }
}

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
}
