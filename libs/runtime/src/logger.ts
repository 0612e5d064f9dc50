import { LoggerService } from '@nestjs/common';
import { DestinationStream, Logger as PinoLogger, LoggerOptions, pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * pino configured for featx's log lines: one JSON object per line with `time` (ISO), `level` (the
 * word), `service`, `msg`, `context` and any extra fields at the top level. Nest's own messages
 * and the HTTP request lines (see logging.module.ts) go through the same options. `service` is
 * undefined only before a service's logger exists (a failed start).
 */
export function jsonLogOptions(service: string | undefined, level: LogLevel): LoggerOptions {
  return {
    level,
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    // Replaces pino's default pid and hostname: the service is what a reader filters on.
    base: service === undefined ? {} : { service },
    formatters: {
      level: (label) => ({ level: label }),
      log: flattenError,
    },
  };
}

/**
 * pino puts errors under `err` as an object (nestjs-pino does too, for Nest's exception handler);
 * featx lines carry the message as `error` and the stack as `stack`, so log stores index one shape.
 */
function flattenError(fields: Record<string, unknown>): Record<string, unknown> {
  const { err, ...rest } = fields;
  if (!(err instanceof Error)) return fields;
  return { ...rest, error: rest.error ?? err.message, stack: rest.stack ?? err.stack };
}

/**
 * Structured JSON logs through pino, one object per line on stdout (or `destination`): easy to grep
 * locally and to ship to any log store. `child(context)` is a pino child bound to that context.
 * Implements Nest's LoggerService so it can stand in for Nest's logger where one is passed.
 */
export class JsonLogger implements LoggerService {
  /** The service's logger, without a context: what a child is made from and a per-call context writes to. */
  private readonly root: PinoLogger;
  /** The pino logger this one writes through (the root bound to `context`, if any). */
  readonly pino: PinoLogger;

  constructor(service: string, level?: LogLevel, destination?: DestinationStream);
  constructor(root: PinoLogger, context?: string);
  constructor(serviceOrRoot: string | PinoLogger, levelOrContext?: string, destination?: DestinationStream) {
    if (typeof serviceOrRoot === 'string') {
      const options = jsonLogOptions(serviceOrRoot, (levelOrContext as LogLevel | undefined) ?? 'info');
      // pino's default destination writes synchronously, so the last lines before an exit are not lost.
      this.root = destination ? pino(options, destination) : pino(options);
      this.pino = this.root;
    } else {
      this.root = serviceOrRoot;
      this.pino = levelOrContext ? serviceOrRoot.child({ context: levelOrContext }) : serviceOrRoot;
    }
  }

  /** Same service, level and destination; lines carry `context`. A child's child replaces the context. */
  child(context: string): JsonLogger {
    return new JsonLogger(this.root, context);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  info(message: unknown, fields?: Record<string, unknown>): void {
    this.write('info', message, fields ? [fields] : []);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }

  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    for (const extra of rest) {
      // Nest passes the context as a trailing string, and error stacks as strings too.
      if (typeof extra === 'string') {
        if (extra.includes('\n')) fields.stack = extra;
        else fields.context = extra;
      } else if (extra instanceof Error) {
        fields.error = extra.message;
        fields.stack = extra.stack;
      } else if (extra && typeof extra === 'object') {
        Object.assign(fields, extra);
      }
    }
    let msg: string;
    if (message instanceof Error) {
      msg = message.message;
      fields.stack ??= message.stack;
    } else {
      msg = typeof message === 'string' ? message : JSON.stringify(message);
    }
    // A context given with the message replaces the bound one: written through the root, so the
    // line has one `context` key, not the binding and the override both.
    ('context' in fields ? this.root : this.pino)[level](fields, msg);
  }
}
