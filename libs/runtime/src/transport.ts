import { INestApplication } from '@nestjs/common';
import { MicroserviceOptions, NestMicroservice } from '@nestjs/microservices';
import { JetStreamServer, KeepHandlerErrors, JetStreamServerOptions } from '@featx/bus';

/** What a service's module may set on its transport beyond the shared configuration. */
export type TransportSettings = Pick<JetStreamServerOptions, 'consumers' | 'address' | 'unknownCommands'>;

/**
 * Connects the JetStream transport to an initialised service and starts its message handlers
 * (controllers' `@EventPattern`/`@MessagePattern` methods): after init, so no message reaches a
 * provider before its init hooks ran. Nest closes the transport on shutdown after the
 * beforeApplicationShutdown hooks and before the connections close, so messages in flight finish.
 */
export async function startMessageHandlers(app: INestApplication): Promise<void> {
  // Deferred, so that the filter is in place when the handlers are registered.
  const microservice = app.connectMicroservice<MicroserviceOptions>({ strategy: app.get(JetStreamServer) }, { deferInitialization: true }) as NestMicroservice;
  microservice.useGlobalFilters(new KeepHandlerErrors());
  // The app has run the lifecycle hooks; the microservice must not run them a second time.
  microservice.setIsInitHookCalled(true);
  await app.startAllMicroservices();
}
