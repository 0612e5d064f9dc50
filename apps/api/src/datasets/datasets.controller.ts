import { Body, Query } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { RegisterDatasetOptions, registerDatasetOptionsSchema } from '@featx/contracts';
import { IMAGE_FILTERS, type ImageFilter, type PageRequest } from '@featx/db';
import { AdminController } from '../common/admin-controller.decorator';
import { CommandEndpoint } from '../common/command-endpoint.decorator';
import { OneOfQueryPipe } from '../common/one-of-query.pipe';
import { PagedList, PageQuery } from '../common/page-query';
import { ListEndpoint, ReadEndpoint } from '../common/read-endpoint.decorator';
import { ZodBodyPipe } from '../common/zod-body.pipe';
import { UuidParam } from '../common/uuid-param.pipe';
import { DatasetsService } from './datasets.service';

@AdminController('datasets', 'datasets')
export class DatasetsController {
  constructor(private readonly service: DatasetsService) {}

  @CommandEndpoint({
    summary: 'Register (or re-scan) a folder of images; published as the datasets.register bus command',
    body: registerDatasetOptionsSchema,
    queued: 'Command queued; follow it at GET /commands/{commandId}',
    invalid: 'A field is invalid, or the path is outside the data roots',
  })
  register(@Body(new ZodBodyPipe(registerDatasetOptionsSchema)) body: RegisterDatasetOptions) {
    return this.service.register(body);
  }

  @ListEndpoint({ summary: 'List datasets, oldest first' })
  list(@PageQuery() page: PageRequest) {
    return this.service.list(page);
  }

  @ReadEndpoint(':id/images', { summary: 'The images of a dataset in id order (registration order): split, label, path, size, sha256, status', notFound: 'No such dataset' })
  @PagedList('the images of the dataset')
  @ApiQuery({
    name: 'status',
    required: false,
    enum: IMAGE_FILTERS,
    description: 'only these: missing (gone at the last scan), failed (unreadable) or present files, or changed ones (a re-scan found their content, label or split different: changedAt)',
  })
  images(@UuidParam() id: string, @PageQuery() page: PageRequest, @Query('status', new OneOfQueryPipe<ImageFilter>('status', IMAGE_FILTERS)) status?: ImageFilter) {
    return this.service.images(id, page, status);
  }

  @ReadEndpoint(':id', { summary: 'A dataset with its image counts per split and class', notFound: 'No such dataset' })
  get(@UuidParam() id: string) {
    return this.service.get(id);
  }
}
