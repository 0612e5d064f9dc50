import { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { DecodeError, ValidationError, messageRejectedEvent } from '@featx/contracts';
import { BusConnection } from './connection';
import { ensureConsumer } from './provision';
import { PermanentError, UnknownSubjectError } from './errors';
import { publish } from './publisher';

export type RejectionKind = 'decode' | 'validation' | 'permanent' | 'max-deliveries' | 'unknown-subject';

/** A message that will never be processed, with why: kept so that nothing disappears silently. */
export interface Rejection {
  kind: RejectionKind;
  stream: string;
  consumer: string;
  subject: string;
  streamSequence: number;
  deliveryCount: number;
  reason: string;
  /** The first bytes of the payload, for inspection. */
  payload: Uint8Array;
}

export interface RejectionSink {
  record(rejection: Rejection): Promise<void>;
}

export interface MessageContext {
  subject: string;
  streamSequence: number;
  deliveryCount: number;
  /** The publisher's Nats-Msg-Id, when it set one. */
  msgId?: string;
  /** Tells the server the message is still being worked on (done automatically every ackWait/3 too). */
  working(): void;
}

export interface ConsumerLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** How the transport's durable pull consumer behaves; `@EventPattern` extras may set these per handler. */
export interface ConsumerSettings {
  /** The durable consumer's name: replicas sharing it share the work. */
  durable: string;
  /** Deliveries before a failing message is terminated and recorded. */
  maxDeliver?: number;
  ackWaitMs?: number;
  /** nak delay for delivery n is min(initial * 2^(n-1), max). */
  backoff?: { initialMs: number; maxMs: number };
  /** Messages this process handles at once. */
  concurrency?: number;
}

export interface ConsumerSpec<T> extends ConsumerSettings {
  stream: string;
  filterSubject: string;
  /** Name used in rejection reasons (a contract's name). */
  kind: string;
  /** Decodes and validates; throws DecodeError, ValidationError or UnknownSubjectError to reject. */
  parse: (data: Uint8Array, subject: string) => T;
  handler: (message: T, context: MessageContext) => Promise<void>;
  rejections: RejectionSink;
  logger: ConsumerLogger;
}

const MAX_RECORDED_PAYLOAD = 4096;
/**
 * How long each pull request waits at the consumer's leader. A pull left at a leader that died (a
 * NATS node lost) is noticed after two missed idle heartbeats (expires / 2 each): nats.js's 30 s
 * default made a cluster's consumers stall 30 s after losing a node; 5 s makes it about 5.
 */
const PULL_EXPIRES_MS = 5000;
/** Pause before pulling again after a pull failed. */
const PULL_RETRY_MS = 500;

/**
 * A durable pull consumer with explicit acks. Every message is decoded and validated first; one
 * that cannot be (garbage bytes, wrong shape, unknown version) is terminated and recorded at once,
 * so it never blocks the messages behind it. Handler failures are nak'ed with backoff until
 * maxDeliver, then terminated and recorded too.
 */
export class BusConsumer<T> {
  private messages?: ConsumerMessages;
  private readonly inFlight = new Set<Promise<void>>();
  private loop?: Promise<void>;
  private stopping = false;

  private constructor(
    private readonly bus: BusConnection,
    private readonly spec: Required<Omit<ConsumerSpec<T>, 'backoff'>> & Pick<ConsumerSpec<T>, 'backoff'>,
  ) {}

  static async start<T>(bus: BusConnection, spec: ConsumerSpec<T>): Promise<BusConsumer<T>> {
    const full = { maxDeliver: 5, ackWaitMs: 30000, concurrency: 1, ...spec };
    await ensureConsumer(bus.jsm, {
      stream: full.stream,
      durable: full.durable,
      filterSubject: full.filterSubject,
      maxDeliver: full.maxDeliver,
      ackWaitMs: full.ackWaitMs,
    });
    const consumer = new BusConsumer(bus, full);
    const jsConsumer = await bus.js.consumers.get(full.stream, full.durable);
    consumer.loop = consumer.run(jsConsumer);
    return consumer;
  }

  /** Stops taking messages, waits for those in flight up to timeoutMs; unfinished ones are redelivered later. */
  async stop(timeoutMs = 20000): Promise<void> {
    this.stopping = true;
    await this.messages?.close().catch(() => undefined);
    await Promise.race([
      Promise.allSettled([...this.inFlight, this.loop]),
      new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }

  /**
   * Pulls only as many messages as there are free slots, and only when there are: a replica takes
   * work when it can start it, so replicas share a stream's backlog by how fast they work. (nats.js's
   * `consume()` queues a pull each time its heartbeats go missing — as they do while the process is
   * busy for a while, loading a network for instance — and sends them all once the loop reads on: a
   * replica back from a long load asked for the whole backlog and kept it, while the other replica
   * went idle; bench:extract showed it.)
   */
  private async run(consumer: Consumer): Promise<void> {
    const slots = this.spec.concurrency;
    while (!this.stopping) {
      if (this.inFlight.size >= slots) {
        await Promise.race(this.inFlight);
        // Let the other handlers that finished with it free their slots too: one pull for all.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      try {
        this.messages = await consumer.fetch({ max_messages: slots - this.inFlight.size, expires: PULL_EXPIRES_MS });
        for await (const message of this.messages) {
          if (this.stopping) {
            message.nak();
            continue;
          }
          const task = this.handle(message).finally(() => this.inFlight.delete(task));
          this.inFlight.add(task);
        }
      } catch (error) {
        // A pull that failed (its leader gone, heartbeats missed, the connection reconnecting) is
        // made again; whatever it had delivered is being handled.
        if (this.stopping) break;
        this.spec.logger.warn('pull failed, pulling again', { stream: this.spec.stream, consumer: this.spec.durable, error: (error as Error)?.message ?? String(error) });
        await new Promise((resolve) => setTimeout(resolve, PULL_RETRY_MS));
      }
    }
  }

  private async handle(message: JsMsg): Promise<void> {
    const { logger } = this.spec;
    let parsed: T;
    try {
      parsed = this.spec.parse(message.data, message.subject);
    } catch (error) {
      const kind = error instanceof DecodeError ? 'decode' : error instanceof ValidationError ? 'validation' : error instanceof UnknownSubjectError ? 'unknown-subject' : undefined;
      if (!kind) throw error;
      await this.reject(message, kind, kind === 'unknown-subject' ? (error as Error).message : `${this.spec.kind}: ${(error as Error).message}`);
      return;
    }

    const heartbeat = setInterval(() => message.working(), Math.max(1000, this.spec.ackWaitMs / 3));
    try {
      await this.spec.handler(parsed, {
        subject: message.subject,
        streamSequence: message.info.streamSequence,
        deliveryCount: message.info.deliveryCount,
        msgId: message.headers?.get('Nats-Msg-Id') || undefined,
        working: () => message.working(),
      });
      message.ack();
    } catch (error) {
      const reason = (error as Error)?.message ?? String(error);
      if (error instanceof PermanentError) {
        await this.reject(message, 'permanent', reason);
      } else if (message.info.deliveryCount >= this.spec.maxDeliver) {
        await this.reject(message, 'max-deliveries', `failed ${message.info.deliveryCount} times, last: ${reason}`);
      } else {
        const delay = this.backoffDelay(message.info.deliveryCount);
        logger.warn('message failed, will retry', { subject: message.subject, seq: message.info.streamSequence, delivery: message.info.deliveryCount, retryInMs: delay, error: reason });
        message.nak(delay);
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  private backoffDelay(deliveryCount: number): number {
    const { initialMs, maxMs } = this.spec.backoff ?? { initialMs: 1000, maxMs: 60000 };
    return Math.min(initialMs * 2 ** (deliveryCount - 1), maxMs);
  }

  /** Records first, then terminates: if the record cannot be written, the message comes back later. */
  private async reject(message: JsMsg, kind: RejectionKind, reason: string): Promise<void> {
    const rejection: Rejection = {
      kind,
      stream: this.spec.stream,
      consumer: this.spec.durable,
      subject: message.subject,
      streamSequence: message.info.streamSequence,
      deliveryCount: message.info.deliveryCount,
      reason,
      payload: message.data.subarray(0, MAX_RECORDED_PAYLOAD),
    };
    try {
      await this.spec.rejections.record(rejection);
    } catch (error) {
      this.spec.logger.error('cannot record a rejected message; it will be redelivered', { reason, error: (error as Error).message });
      message.nak(this.backoffDelay(message.info.deliveryCount));
      return;
    }
    // No reason on the wire: NATS 2.9 does not parse one; the record above keeps it.
    message.term();
    this.spec.logger.warn('message rejected', { kind, subject: message.subject, seq: rejection.streamSequence, reason });
    await publish(this.bus, messageRejectedEvent, {
      v: 1,
      stream: rejection.stream,
      consumer: rejection.consumer,
      subject: rejection.subject,
      streamSequence: rejection.streamSequence,
      reason,
    }).catch(() => undefined);
  }
}
