import { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule } from '@nestjs/common';
import { LevelWithSilent } from 'pino';
import { LoggerModule } from 'nestjs-pino';
import { JsonLogger } from './logger';

/**
 * nestjs-pino over the service's JsonLogger: Nest's own messages (bootstrap.ts makes nestjs-pino's
 * Logger the app logger) and one line per HTTP request come out in the same JSON fields.
 *
 * Request lines: none for /health/* (orchestrators probe every few seconds); 5xx at error, 4xx at
 * info (a client was refused: worth seeing, not alarming), everything else at debug, so ordinary
 * traffic (the hostile suite's load test sends 200 requests/s) writes nothing at the default level.
 *
 * nestjs-pino keeps one root logger per process, so in a process running several services the first
 * one built writes Nest's messages and the request lines. A deployed process runs one service.
 */
export function loggingModule(logger: JsonLogger): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      logger: logger.pino,
      autoLogging: { ignore: (req) => pathOf(req).startsWith('/health/') },
      customLogLevel: requestLevel,
      // Logs made while handling a request are bound to its id only: pino-http's `req` would carry
      // every header, the API's bearer token included.
      quietReqLogger: true,
      quietResLogger: true,
      customSuccessMessage: requestMessage,
      customErrorMessage: requestMessage,
      customSuccessObject: (req, res, value: { responseTime: number }) => requestFields(req, res, value.responseTime),
      // No `error` here: for a 5xx pino-http only knows the status, and Nest's exception handler
      // logs the error itself, with its stack and the same reqId.
      customErrorObject: (req, res, _error, value: { responseTime: number }) => requestFields(req, res, value.responseTime),
    },
  });
}

function requestLevel(_req: IncomingMessage, res: ServerResponse, error?: Error): LevelWithSilent {
  if (error || res.statusCode >= 500) return 'error';
  return res.statusCode >= 400 ? 'info' : 'debug';
}

function requestMessage(req: IncomingMessage, res: ServerResponse): string {
  return `${req.method} ${urlOf(req)} ${res.statusCode}`;
}

function requestFields(req: IncomingMessage, res: ServerResponse, durationMs: number) {
  return { context: 'http', method: req.method, url: urlOf(req), status: res.statusCode, durationMs };
}

/** The URL as the client sent it: Express rewrites `url` below a middleware's mount path, not `originalUrl`. */
function urlOf(req: IncomingMessage): string {
  return (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
}

function pathOf(req: IncomingMessage): string {
  return urlOf(req).split('?')[0];
}
