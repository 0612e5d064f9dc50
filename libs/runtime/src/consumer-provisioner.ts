import { Inject, Injectable, OnApplicationBootstrap, Provider } from '@nestjs/common';
import { BusConnection, DurableConsumerSpec, ensureConsumer } from '@featx/bus';
import { BusNames } from '@featx/contracts';
import { BUS, LOGGER } from './tokens';
import { JsonLogger } from './logger';

/**
 * A provider that creates a service's durable consumers at start, so that work published before
 * the service first runs is kept for it.
 */
export function consumerProvisioner(specs: (names: BusNames) => DurableConsumerSpec[]): Provider {
  @Injectable()
  class ConsumerProvisioner implements OnApplicationBootstrap {
    constructor(
      @Inject(BUS) private readonly bus: BusConnection,
      @Inject(LOGGER) private readonly logger: JsonLogger,
    ) {}

    async onApplicationBootstrap(): Promise<void> {
      for (const spec of specs(this.bus.names)) {
        await ensureConsumer(this.bus.jsm, spec);
        this.logger.info('consumer ready', { stream: spec.stream, durable: spec.durable, filter: spec.filterSubject });
      }
    }
  }
  return ConsumerProvisioner;
}
