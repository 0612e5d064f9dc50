import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ArtifactStore, BusClient, BusConnection, connectBus, drainBus, JetStreamServer, logConnectionEvents, provisionStreams } from '@featx/bus';
import { CommandsRepository, DatabaseHandle, DatasetsRepository, FeatureSetsRepository, FeatureStoresRepository, RunsRepository, RunCandidatesRepository, RunSharesRepository, RunImagePredictionsRepository, ensureDatabaseExists, migrateDatabase, openDatabase, RejectedMessagesRepository } from '@featx/db';
import { FeatxConfig, loadConfig, ServiceName } from './config';
import { JsonLogger } from './logger';
import { LoggingModule } from './logging.module';
import { DataRoots } from '@featx/datasets';
import { BUS, CONFIG, DATA_ROOTS, DATABASE, LOGGER } from './tokens';
import { HealthController } from './health.controller';
import { TransportSettings } from './transport';

/**
 * Closes the bus and the database when Nest shuts down (SIGTERM/SIGINT): drain, then end the pool.
 * Consumers stop in beforeApplicationShutdown, so their messages in flight finish first.
 */
@Injectable()
class ConnectionCloser implements OnApplicationShutdown {
  constructor(
    @Inject(BUS) private readonly bus: BusConnection,
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info('shutting down', { signal });
    await drainBus(this.bus).catch(() => undefined);
    await this.database.close().catch(() => undefined);
  }
}

/**
 * What every service starts with: configuration, JSON logs (pino; Nest's own messages and HTTP
 * requests too), a JetStream connection with the streams and the artifacts bucket provisioned, the transport (server and
 * client), a migrated database with its
 * repositories, and health endpoints.
 */
@Global()
@Module({})
export class CoreModule {
  static forService(service: ServiceName, config: FeatxConfig = loadConfig(service), transport: TransportSettings = {}): DynamicModule {
    const logger = new JsonLogger(service, config.logLevel);
    return {
      module: CoreModule,
      imports: [LoggingModule.forService(logger)],
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        {
          provide: BUS,
          useFactory: async () => {
            const bus = await connectBus({ ...config.nats, name: `featx-${service}` });
            await provisionStreams(bus.jsm, bus.names, { replicas: config.nats.streamReplicas, warn: (message, fields) => logger.warn(message, fields) });
            logger.info('connected to NATS', { server: bus.nc.getServer(), url: config.nats.url, namespace: config.nats.namespace, streamReplicas: config.nats.streamReplicas, maxPayload: bus.maxPayload });
            void logConnectionEvents(bus, logger.child('nats'));
            return bus;
          },
        },
        {
          provide: DATABASE,
          useFactory: async () => {
            if (config.database.migrateOnStart) {
              await ensureDatabaseExists(config.database.url);
              await migrateDatabase(config.database.url);
            }
            return openDatabase(config.database.url, { idleInTransactionTimeoutMs: config.database.idleInTransactionTimeoutMs });
          },
        },
        { provide: BusClient, useFactory: (bus: BusConnection) => new BusClient(bus), inject: [BUS] },
        // The namespace's artifacts bucket, made here like the streams: the trainer publishes to it, the API reads it.
        { provide: ArtifactStore, useFactory: (bus: BusConnection) => ArtifactStore.open(bus, { replicas: config.nats.streamReplicas }), inject: [BUS] },
        {
          provide: JetStreamServer,
          useFactory: (bus: BusConnection, rejections: RejectedMessagesRepository) =>
            new JetStreamServer({ ...transport, bus, rejections, logger: logger.child('transport'), ackWaitMs: config.ackWaitMs, shutdownTimeoutMs: config.shutdownTimeoutMs }),
          inject: [BUS, RejectedMessagesRepository],
        },
        { provide: DATA_ROOTS, useFactory: () => DataRoots.open(config.dataRoots) },
        { provide: DatasetsRepository, useFactory: (d: DatabaseHandle) => new DatasetsRepository(d.db), inject: [DATABASE] },
        { provide: FeatureSetsRepository, useFactory: (d: DatabaseHandle) => new FeatureSetsRepository(d.db), inject: [DATABASE] },
        { provide: RunsRepository, useFactory: (d: DatabaseHandle) => new RunsRepository(d.db), inject: [DATABASE] },
        { provide: RunCandidatesRepository, useFactory: (d: DatabaseHandle) => new RunCandidatesRepository(d.db), inject: [DATABASE] },
        { provide: RunSharesRepository, useFactory: (d: DatabaseHandle) => new RunSharesRepository(d.db), inject: [DATABASE] },
        { provide: RunImagePredictionsRepository, useFactory: (d: DatabaseHandle) => new RunImagePredictionsRepository(d.db), inject: [DATABASE] },
        { provide: FeatureStoresRepository, useFactory: (d: DatabaseHandle) => new FeatureStoresRepository(d.db), inject: [DATABASE] },
        { provide: CommandsRepository, useFactory: (d: DatabaseHandle) => new CommandsRepository(d.db), inject: [DATABASE] },
        { provide: RejectedMessagesRepository, useFactory: (d: DatabaseHandle) => new RejectedMessagesRepository(d.db), inject: [DATABASE] },
        ConnectionCloser,
      ],
      exports: [CONFIG, LOGGER, BUS, BusClient, ArtifactStore, JetStreamServer, DATABASE, DATA_ROOTS, DatasetsRepository, FeatureSetsRepository, FeatureStoresRepository, RunsRepository, RunCandidatesRepository, RunSharesRepository, RunImagePredictionsRepository, CommandsRepository, RejectedMessagesRepository],
    };
  }
}
