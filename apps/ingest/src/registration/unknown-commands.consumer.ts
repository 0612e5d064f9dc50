import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { BusConnection, ensureConsumer, publish, Rejection } from '@featx/bus';
import { BusNames, messageRejectedEvent } from '@featx/contracts';
import { RejectedMessagesRepository } from '@featx/db';
import { BUS, CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';

const DURABLE = 'ingest-unknown-commands';
const MAX_RECORDED_PAYLOAD = 4096;

/** The command subjects some featx service consumes; everything else under `<ns>.cmd.` is unknown. */
export function knownCommandSubjects(names: BusNames): Set<string> {
  return new Set([names.subjects.registerDataset, names.subjects.extractFeatures, names.subjects.createRun, names.subjects.cancelRun]);
}

/**
 * A catch-all durable on `<ns>.cmd.>`: a command on a subject no service handles (a typo, a client
 * newer than the services) would otherwise sit in the 7-day command log unconsumed and unseen.
 * NATS 2.9 allows one filter subject per consumer, so this consumer sees every command: known ones
 * are acked and left to their own consumers; unknown ones are recorded in `rejected_messages`
 * (kind `unknown-subject`) and terminated.
 */
@Injectable()
export class UnknownCommandsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;

  constructor(
    private readonly rejections: RejectedMessagesRepository,
    @Inject(BUS) private readonly bus: BusConnection,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const stream = this.bus.names.streams.commands;
    await ensureConsumer(this.bus.jsm, { stream, durable: DURABLE, filterSubject: this.bus.names.subjects.allCommands, maxDeliver: 10, ackWaitMs: 30000 });
    const consumer = await this.bus.js.consumers.get(stream, DURABLE);
    this.messages = await consumer.consume({ max_messages: 64 });
    const known = knownCommandSubjects(this.bus.names);
    this.loop = (async () => {
      for await (const message of this.messages!) {
        if (known.has(message.subject)) message.ack();
        else await this.reject(message);
      }
    })().catch((error) => this.logger.error('unknown-command consumer stopped', { error: (error as Error).message }));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.messages?.close().catch(() => undefined);
    await Promise.race([this.loop, new Promise((resolve) => setTimeout(resolve, this.config.shutdownTimeoutMs).unref())]);
  }

  /** Records first, then terminates: a record that cannot be written leaves the message for later. */
  private async reject(message: JsMsg): Promise<void> {
    const rejection: Rejection = {
      kind: 'unknown-subject',
      stream: this.bus.names.streams.commands,
      consumer: DURABLE,
      subject: message.subject,
      streamSequence: message.info.streamSequence,
      deliveryCount: message.info.deliveryCount,
      reason: `no featx service handles commands on ${message.subject}`,
      payload: message.data.subarray(0, MAX_RECORDED_PAYLOAD),
    };
    try {
      await this.rejections.record(rejection);
    } catch (error) {
      this.logger.error('cannot record an unknown command; it will be redelivered', { subject: message.subject, error: (error as Error).message });
      message.nak(5000);
      return;
    }
    message.term();
    this.logger.warn('command on an unknown subject rejected', { subject: message.subject, seq: rejection.streamSequence });
    await publish(this.bus, messageRejectedEvent, { v: 1, stream: rejection.stream, consumer: DURABLE, subject: rejection.subject, streamSequence: rejection.streamSequence, reason: rejection.reason }).catch(() => undefined);
  }
}
