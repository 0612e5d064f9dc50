import type { ServerResponse } from 'node:http';
import { Body, Get, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { ExtractFeaturesOptions, extractFeaturesOptionsSchema } from '@featx/contracts';
import type { PageRequest } from '@featx/db';
import { AdminController } from '../common/admin-controller.decorator';
import { CommandEndpoint } from '../common/command-endpoint.decorator';
import { ListEndpoint, ReadEndpoint } from '../common/read-endpoint.decorator';
import { PagedList, PageQuery } from '../common/page-query';
import { ZodBodyPipe } from '../common/zod-body.pipe';
import { UuidParam, UuidQuery } from '../common/uuid-param.pipe';
import { FeatureSetsService } from './feature-sets.service';
import { EXPORT_HEADERS, ExportQuery, exportQuerySchema } from './feature-export.service';

@AdminController('feature-sets', 'feature-sets')
export class FeatureSetsController {
  constructor(private readonly service: FeatureSetsService) {}

  @CommandEndpoint({
    summary: 'Extract features of a dataset (or resume the set with the same options); published as the features.extract bus command',
    body: extractFeaturesOptionsSchema,
    queued: 'Command queued; follow it at GET /commands/{commandId}, whose result names the featureSetId',
    invalid: 'A field is invalid, the dataset does not exist, or the model folder is outside the data roots',
  })
  extract(@Body(new ZodBodyPipe(extractFeaturesOptionsSchema)) body: ExtractFeaturesOptions) {
    return this.service.extract(body);
  }

  @ListEndpoint({ summary: 'List feature sets with their progress', filter: { name: 'datasetId', description: 'only the sets of this dataset' } })
  list(@PageQuery() page: PageRequest, @UuidQuery('datasetId') datasetId?: string) {
    return this.service.list(page, datasetId);
  }

  @ReadEndpoint(':id', { summary: 'A feature set with its progress: done, total, percent, images per second (this run), ETA', notFound: 'No such feature set' })
  get(@UuidParam() id: string) {
    return this.service.get(id);
  }

  @ReadEndpoint(':id/shards', { summary: 'The NumPy shards of a feature set, by split and index', notFound: 'No such feature set' })
  @PagedList('the shards')
  shards(@UuidParam() id: string, @PageQuery() page: PageRequest) {
    return this.service.shards(id, page);
  }

  @ReadEndpoint(':id/failures', { summary: 'Images that could not be turned into a vector, with the reason, in image id order', notFound: 'No such feature set' })
  @PagedList('the failures')
  failures(@UuidParam() id: string, @PageQuery() page: PageRequest) {
    return this.service.failures(id, page);
  }

  @ReadEndpoint(':id/vectors', { summary: 'Where each stored vector lives (shard id and row), in image id order', notFound: 'No such feature set' })
  @PagedList('the vectors\' locations')
  vectors(@UuidParam() id: string, @PageQuery() page: PageRequest) {
    return this.service.vectors(id, page);
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
    @UuidParam() id: string,
    @Query(new ZodBodyPipe(exportQuerySchema)) query: ExportQuery,
    @Res() response: ServerResponse,
  ): Promise<void> {
    await this.service.sendExport(response, await this.service.export(id, query));
  }
}
