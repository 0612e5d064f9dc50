import { AdminController } from '../common/admin-controller.decorator';
import { ListEndpoint } from '../common/read-endpoint.decorator';
import { FeatureStoresService } from './feature-stores.service';

@AdminController('feature-stores', 'feature-stores')
export class FeatureStoresController {
  constructor(private readonly service: FeatureStoresService) {}

  @ListEndpoint({ summary: 'The feature-store replicas: state (up, down after missed heartbeats, unregistered), host, last seen, shards and committed rows held' })
  list() {
    return this.service.list();
  }
}
