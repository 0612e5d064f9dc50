import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FeatxConfig } from './config';
import { JsonLogger } from './logger';
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
  const app = await NestFactory.create(module, { bufferLogs: true });
  const config = app.get<FeatxConfig>(CONFIG);
  const logger = app.get<JsonLogger>(LOGGER);
  app.useLogger(logger);
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
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: `failed to start: ${error.message}`, stack: error.stack })}\n`);
    process.exit(1);
  });
}
