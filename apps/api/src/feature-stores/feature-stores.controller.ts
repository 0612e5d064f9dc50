import { Get } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { AdminController } from '../common/admin-controller.decorator';
import { FeatureStoresService } from './feature-stores.service';

@AdminController('feature-stores', 'feature-stores')
export class FeatureStoresController {
  constructor(private readonly service: FeatureStoresService) {}

  // Not paged: one row per feature-store replica (a handful), their holdings summed per writer by Postgres.
  @Get()
  @ApiOperation({ summary: 'The feature-store replicas: state (up, down after missed heartbeats, unregistered), host, last seen, shards and committed rows held' })
  list() {
    return this.service.list();
  }
}
