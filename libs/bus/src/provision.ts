import {
  AckPolicy,
  ConsumerConfig,
  DeliverPolicy,
  JetStreamApiError,
  JetStreamManager,
  RetentionPolicy,
  StorageType,
  StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { BusNames } from '@featx/contracts';

const DAY_MS = 24 * 3600 * 1000;
const STREAM_NAME_IN_USE = 10058;
const CONSUMER_NAME_EXISTS = 10148;

/** The four streams of a namespace; see `busNames` for what each carries. */
export function streamConfigs(names: BusNames): Array<Partial<StreamConfig> & { name: string; subjects: string[] }> {
  const base = { storage: StorageType.File, duplicate_window: nanos(2 * 60 * 1000), num_replicas: 1 };
  return [
    { ...base, name: names.streams.commands, subjects: [names.subjects.allCommands], retention: RetentionPolicy.Limits, max_age: nanos(7 * DAY_MS) },
    { ...base, name: names.streams.work, subjects: [names.subjects.allWork], retention: RetentionPolicy.Workqueue },
    { ...base, name: names.streams.features, subjects: [names.subjects.allFeatures], retention: RetentionPolicy.Workqueue },
    { ...base, name: names.streams.events, subjects: [names.subjects.allEvents], retention: RetentionPolicy.Limits, max_age: nanos(DAY_MS) },
  ];
}

/**
 * Creates the streams, or leaves them as they are. Several replicas start at once: whoever loses
 * the creation race sees "name already in use" and simply goes on with the existing stream.
 */
export async function provisionStreams(jsm: JetStreamManager, names: BusNames): Promise<void> {
  for (const config of streamConfigs(names)) {
    try {
      await jsm.streams.info(config.name);
      continue;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      await jsm.streams.add(config);
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE)) throw error;
    }
  }
}

export interface DurableConsumerSpec {
  stream: string;
  durable: string;
  filterSubject: string;
  /** Deliveries before a failing message is terminated and recorded. */
  maxDeliver: number;
  ackWaitMs: number;
  /** Messages handed out at once across all replicas. */
  maxAckPending?: number;
}

/** Adds a durable pull consumer; identical configs from racing replicas are accepted by the server. */
export async function ensureConsumer(jsm: JetStreamManager, spec: DurableConsumerSpec): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: spec.filterSubject,
    max_deliver: spec.maxDeliver,
    ack_wait: nanos(spec.ackWaitMs),
    max_ack_pending: spec.maxAckPending ?? 1000,
  };
  try {
    await jsm.consumers.add(spec.stream, config);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === CONSUMER_NAME_EXISTS) {
      // Same name, other config (e.g. a changed ack_wait after an upgrade): bring it up to date.
      await jsm.consumers.update(spec.stream, spec.durable, config);
      return;
    }
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === 10059 || /not found/i.test(error.message));
}

/** The stream that stores messages on `subject` (each stream takes one `<ns>.<kind>.>` wildcard). */
export function streamFor(names: BusNames, subject: string): string {
  const config = streamConfigs(names).find((stream) => stream.subjects.some((wildcard) => subject.startsWith(wildcard.slice(0, -1))));
  if (!config) throw new Error(`no featx stream stores subject ${subject}`);
  return config.name;
}
