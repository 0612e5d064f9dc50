import { DynamicModule, Inject, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { JsonLogger } from './logger';
import { RequestLogMiddleware, requestLogMiddleware } from './request-log.middleware';

const REQUEST_LOG = Symbol('featx:request-log');

/**
 * Logging of a service beyond its own JsonLogger calls, in the same JSON fields and through the
 * same pino logger: Nest's own messages (nestjs-pino's Logger; bootstrap.ts makes it the app
 * logger) and one line per HTTP request, none for /health/* (orchestrators probe every few seconds).
 *
 * nestjs-pino's own request middleware is left unmounted (`forRoutes: []`): it runs every request in
 * an AsyncLocalStorage for request-scoped loggers, which featx does not use, and on Node 20 that
 * hooks every promise of the process from the first request on (it would tax a worker's NATS and
 * decode work too). nestjs-pino keeps one root logger per process, so where tests run several
 * services in one process, the first one built writes Nest's messages; a deployed process runs one.
 */
@Module({})
export class LoggingModule implements NestModule {
  static forService(logger: JsonLogger): DynamicModule {
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger: logger.pino }, forRoutes: [] })],
      providers: [{ provide: REQUEST_LOG, useValue: requestLogMiddleware(logger) }],
    };
  }

  constructor(@Inject(REQUEST_LOG) private readonly requestLog: RequestLogMiddleware) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(this.requestLog)
      .exclude({ path: 'health/*probe', method: RequestMethod.ALL })
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
