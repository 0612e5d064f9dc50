import { Injectable } from '@nestjs/common';
import { featureStoreState, FeatureStoreState, FeatureStoreView } from '@featx/contracts';
import { FeatureStoresRepository } from '@featx/db';
import { rowView } from '../common/row-view';

/** A store as readers judge it now: its state by the registry's rule, and when it was last seen. */
export interface StoreStatus {
  store: string;
  state: FeatureStoreState;
  host: string | null;
  lastSeenAt: string | null;
}

/** The feature-store registry as the API shows and uses it: which stores are up, and what they hold. */
@Injectable()
export class FeatureStoresService {
  constructor(private readonly stores: FeatureStoresRepository) {}

  async list(): Promise<FeatureStoreView[]> {
    const [rows, now] = await Promise.all([this.stores.list(), this.stores.now()]);
    return rows.map((row) => ({
      ...rowView(row, ['id', 'host', 'version', 'heartbeatMs', 'startedAt', 'lastSeenAt', 'shards', 'rows']),
      state: featureStoreState(row, now),
    }));
  }

  /** The status of each store named (unregistered where it never recorded itself). */
  async statuses(ids: Iterable<string>): Promise<Map<string, StoreStatus>> {
    const wanted = [...new Set(ids)];
    const [rows, now] = await Promise.all([this.stores.byIds(wanted), this.stores.now()]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return new Map(
      wanted.map((store) => {
        const row = byId.get(store);
        return [store, { store, state: featureStoreState(row, now), host: row?.host ?? null, lastSeenAt: row?.lastSeenAt.toISOString() ?? null }];
      }),
    );
  }
}
