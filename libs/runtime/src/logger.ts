import { LoggerService } from '@nestjs/common';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

/**
 * Structured JSON logs, one object per line on stdout: easy to grep locally and to ship to any
 * log store. Implements Nest's LoggerService so framework messages come out the same way.
 */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly service: string,
    private readonly level: LogLevel = 'info',
    private readonly context?: string,
  ) {}

  child(context: string): JsonLogger {
    return new JsonLogger(this.service, this.level, context);
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
    if (LEVELS[level] < LEVELS[this.level]) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, service: this.service };
    let context = this.context;
    for (const extra of rest) {
      // Nest passes the context as a trailing string, and error stacks as strings too.
      if (typeof extra === 'string') {
        if (extra.includes('\n')) entry.stack = extra;
        else context = extra;
      } else if (extra instanceof Error) {
        entry.error = extra.message;
        entry.stack = extra.stack;
      } else if (extra && typeof extra === 'object') {
        Object.assign(entry, extra);
      }
    }
    if (context) entry.context = context;
    if (message instanceof Error) {
      entry.msg = message.message;
      entry.stack ??= message.stack;
    } else {
      entry.msg = typeof message === 'string' ? message : JSON.stringify(message);
    }
    process.stdout.write(`${JSON.stringify(entry)}\n`);
  }
}
