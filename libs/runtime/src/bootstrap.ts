import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { pino } from 'pino';
import { FeatxConfig } from './config';
import { jsonLogOptions, JsonLogger } from './logger';
import { CONFIG, LOGGER } from './tokens';
import { startMessageHandlers } from './transport';

/**
 * Starts a service: Nest app with JSON logs, shutdown hooks (SIGTERM drains the bus), its message
 * handlers on the JetStream transport, and the HTTP server for health (and, for the API,
 * everything else). `configure` runs before listen.
 */
export async function bootstrapService(
  module: Parameters<typeof NestFactory.create>[0],
  configure?: (app: INestApplication, config: FeatxConfig) => void | Promise<void>,
): Promise<INestApplication> {
  // Nest's messages wait until its logger is nestjs-pino's. A failed start (NATS or Postgres
  // unreachable) rejects here instead of Nest printing its own console text and exiting, so
  // runService reports it as a JSON line; what Nest buffered until then is dropped with it.
  const app = await NestFactory.create(module, { bufferLogs: true, autoFlushLogs: false, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  const config = app.get<FeatxConfig>(CONFIG);
  const logger = app.get<JsonLogger>(LOGGER);
  app.enableShutdownHooks();
  await configure?.(app, config);
  await app.init();
  await startMessageHandlers(app);
  await app.listen(config.http.port, config.http.host);
  logger.info('service started', { http: await app.getUrl() });
  return app;
}

/** Entry point of a service's main.ts: a failed start prints its reason and exits non-zero. */
export function runService(...args: Parameters<typeof bootstrapService>): void {
  bootstrapService(...args).catch((error: Error) => {
    // The service's logger may not exist yet: the same line format without `service`, on stderr,
    // written synchronously so it is out before the exit.
    const log = pino({ ...jsonLogOptions(undefined, 'error') }, pino.destination({ fd: 2, sync: true }));
    log.error({ stack: error.stack }, `failed to start: ${error.message}`);
    process.exit(1);
  });
}
