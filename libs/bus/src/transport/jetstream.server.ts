import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { headers, Msg, Subscription } from '@nats-io/nats-core';
import { isObservable, lastValueFrom } from 'rxjs';
import { addressedSubject, contractNamed, decodeMessage, encodeMessage, knownCommandSubjects, MessageContract, parseMessage, RequestContract } from '@featx/contracts';
import { BusConnection } from '../connection';
import { BusConsumer, ConsumerLogger, ConsumerSettings, MessageContext, RejectionSink } from '../consumer';
import { UnknownSubjectError } from '../errors';
import { streamFor } from '../provision';
import { EventHandlerOptions, RequestHandlerOptions } from './handler-options';
import { JetStreamContext } from './jetstream.context';
import { SERVICE_ERROR_HEADER } from './request-reply';

export interface TransportLogger extends ConsumerLogger {
  info(message: string, fields?: Record<string, unknown>): void;
}

export interface JetStreamServerOptions {
  bus: BusConnection;
  rejections: RejectionSink;
  logger: TransportLogger;
  /** Overrides by durable name, from the service's configuration (e.g. the extractor's concurrency). */
  consumers?: Record<string, Partial<Omit<ConsumerSettings, 'durable'>>>;
  /** Overrides every consumer's ack wait when set (configuration: FEATX_ACK_WAIT_MS). */
  ackWaitMs?: number;
  /** How long close() waits for messages in flight; unfinished ones are redelivered later. */
  shutdownTimeoutMs?: number;
  /** This process's address for `addressed` request handlers (a feature store's id). */
  address?: string;
  /**
   * A catch-all durable on every command subject that records (kind `unknown-subject`) and
   * terminates commands no featx service handles, which would otherwise sit unseen in the
   * 7-day command log. One service in a deployment runs it.
   */
  unknownCommands?: { durable: string };
}

type Handler = MessageHandler<unknown, JetStreamContext, unknown>;

/**
 * The JetStream transport for `@nestjs/microservices`. Handlers are declared by message kind:
 *
 * - `@EventPattern(contract.name, { durable, ... })`: a durable pull consumer on the contract's
 *   stream; every message is decoded and validated before the handler sees it, acked only after
 *   the handler succeeds, nak'ed with backoff when it throws, terminated and recorded when it is
 *   malformed, throws a PermanentError, or fails maxDeliver times.
 * - `@MessagePattern(contract.name, { queue, addressed })`: core NATS request/reply (nothing
 *   stored); the reply is whatever the handler returns, an error travels as a NATS service-error
 *   header.
 */
export class JetStreamServer extends Server implements CustomTransportStrategy {
  private readonly consumers: Array<Pick<BusConsumer<unknown>, 'stop'>> = [];
  private readonly subscriptions: Subscription[] = [];

  constructor(private readonly options: JetStreamServerOptions) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      for (const [pattern, handler] of this.messageHandlers) {
        const contract = contractNamed(pattern);
        if (handler.isEventHandler) await this.consume(contract, handler as Handler);
        else this.serve(contract as RequestContract, handler as Handler);
      }
      if (this.options.unknownCommands) await this.consumeUnknownCommands(this.options.unknownCommands.durable);
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Stops taking messages and waits (up to shutdownTimeoutMs) for those in flight. */
  async close(): Promise<void> {
    const timeoutMs = this.options.shutdownTimeoutMs ?? 20000;
    await Promise.all([
      ...this.consumers.splice(0).map((consumer) => consumer.stop(timeoutMs)),
      ...this.subscriptions.splice(0).map((subscription) => subscription.drain().catch(() => undefined)),
    ]);
  }

  on(): never {
    throw new Error('the JetStream transport has no events to listen to; use the health endpoint');
  }

  unwrap<T>(): T {
    return this.options.bus.nc as T;
  }

  private async consume(contract: MessageContract, handler: Handler): Promise<void> {
    const declared = handler.extras as EventHandlerOptions | undefined;
    if (!declared?.durable) throw new Error(`@EventPattern('${contract.name}') needs a durable name in its extras`);
    const { bus, rejections, logger } = this.options;
    const subject = contract.subject(bus.names);
    const settings = { ...declared, ...this.options.consumers?.[declared.durable], ...(this.options.ackWaitMs ? { ackWaitMs: this.options.ackWaitMs } : {}) };
    this.consumers.push(
      await BusConsumer.start(bus, {
        ...settings,
        stream: streamFor(bus.names, subject),
        filterSubject: subject,
        kind: contract.name,
        parse: (data) => parseMessage(contract, decodeMessage(data)),
        handler: async (message, context) => {
          await settle(handler(message, new JetStreamContext(context)));
        },
        rejections,
        logger,
      }),
    );
    logger.info('consuming', { subject, durable: declared.durable });
  }

  private serve(contract: RequestContract, handler: Handler): void {
    const declared = handler.extras as RequestHandlerOptions | undefined;
    if (!declared?.queue) throw new Error(`@MessagePattern('${contract.name}') needs a queue group in its extras`);
    const { bus, logger } = this.options;
    if (declared.addressed && !this.options.address) throw new Error(`@MessagePattern('${contract.name}') is addressed, but the transport has no address`);
    const subject = declared.addressed ? addressedSubject(contract.subject(bus.names), this.options.address!) : contract.subject(bus.names);
    const subscription = bus.nc.subscribe(subject, {
      queue: declared.queue,
      callback: (error, message) => {
        if (!error) void this.answer(contract, handler, message);
      },
    });
    this.subscriptions.push(subscription);
    logger.info('serving requests', { subject, queue: declared.queue });
  }

  private async answer(contract: RequestContract, handler: Handler, message: Msg): Promise<void> {
    const context: MessageContext = { subject: message.subject, streamSequence: 0, deliveryCount: 1, working: () => undefined };
    try {
      const request = parseMessage(contract, decodeMessage(message.data));
      const reply = await settle(handler(request, new JetStreamContext(context)));
      message.respond(encodeMessage(reply));
    } catch (error) {
      const failure = headers();
      failure.set(SERVICE_ERROR_HEADER, (error as Error)?.message ?? String(error));
      message.respond(new Uint8Array(0), { headers: failure });
    }
  }

  private async consumeUnknownCommands(durable: string): Promise<void> {
    const { bus, rejections, logger } = this.options;
    const known = knownCommandSubjects(bus.names);
    this.consumers.push(
      await BusConsumer.start(bus, {
        durable,
        stream: bus.names.streams.commands,
        filterSubject: bus.names.subjects.allCommands,
        kind: 'commands',
        maxDeliver: 10,
        ackWaitMs: 30000,
        concurrency: 64,
        // Known commands are acked unread: their own consumers decode them and record what is wrong.
        parse: (_data, subject) => {
          if (!known.has(subject)) throw new UnknownSubjectError(`no featx service handles commands on ${subject}`);
          return subject;
        },
        handler: async () => undefined,
        rejections,
        logger,
      }),
    );
  }
}

/** A Nest handler returns a value, a promise or an observable (errors come through the KeepHandlerErrors filter). */
async function settle(result: unknown): Promise<unknown> {
  const value = await result;
  return isObservable(value) ? lastValueFrom(value, { defaultValue: undefined }) : value;
}
