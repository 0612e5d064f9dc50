import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { FeatureStoresRepository } from '@featx/db';
import { CONFIG, FeatxConfig, JsonLogger, LOGGER, REPO_ROOT } from '@featx/runtime';

/**
 * Keeps this store in the registry (feature_stores): recorded under its store id and host when
 * it starts, then seen every FEATX_STORE_HEARTBEAT_MS. Readers judge from it whether the store
 * that holds a shard is up (featureStoreState) before they ask it, and say which one they wait for.
 */
@Injectable()
export class StoreRegistry implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  /** A failing heartbeat is logged once, then again once it succeeds. */
  private failing = false;

  constructor(
    private readonly stores: FeatureStoresRepository,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { storeId: id, host, heartbeatMs } = this.config.features;
    await this.stores.started({ id, host, heartbeatMs, version: featxVersion() });
    this.logger.info('feature store registered', { storeId: id, host, heartbeatMs });
    this.timer = setInterval(() => void this.beat(), heartbeatMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    try {
      await this.stores.seen(this.config.features.storeId);
      if (this.failing) this.logger.info('feature store heartbeat recorded again', { storeId: this.config.features.storeId });
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn('cannot record the feature store heartbeat; readers will count this store down if it goes on', { storeId: this.config.features.storeId, error: (error as Error).message });
      this.failing = true;
    }
  }
}

/** The version in featx's package.json, or 'unknown' where a build left it out. */
function featxVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
