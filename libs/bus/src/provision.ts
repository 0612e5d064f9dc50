import {
  AckPolicy,
  ConsumerConfig,
  DeliverPolicy,
  JetStreamApiError,
  JetStreamManager,
  RetentionPolicy,
  StorageType,
  StreamConfig,
  StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { BusNames } from '@featx/contracts';

const DAY_MS = 24 * 3600 * 1000;
const STREAM_NAME_IN_USE = 10058;
const CONSUMER_NAME_EXISTS = 10148;
const REPLICAS_NOT_SUPPORTED = 10074;
/**
 * Answers of a JetStream cluster that is still settling (no meta leader yet, peers not yet
 * known): "no suitable peers for placement", "temporarily unavailable", "cannot handle request",
 * "insufficient resources". Asked again a moment later, they succeed.
 */
const CLUSTER_SETTLING = new Set([10005, 10008, 10009, 10023]);

/** The four streams of a namespace; see `busNames` for what each carries. */
export function streamConfigs(names: BusNames, replicas = 1): Array<Partial<StreamConfig> & { name: string; subjects: string[] }> {
  const base = { storage: StorageType.File, duplicate_window: nanos(2 * 60 * 1000), num_replicas: replicas };
  return [
    { ...base, name: names.streams.commands, subjects: [names.subjects.allCommands], retention: RetentionPolicy.Limits, max_age: nanos(7 * DAY_MS) },
    { ...base, name: names.streams.work, subjects: [names.subjects.allWork], retention: RetentionPolicy.Workqueue },
    { ...base, name: names.streams.features, subjects: [names.subjects.allFeatures], retention: RetentionPolicy.Workqueue },
    { ...base, name: names.streams.events, subjects: [names.subjects.allEvents], retention: RetentionPolicy.Limits, max_age: nanos(DAY_MS) },
  ];
}

export interface ProvisionOptions {
  /** num_replicas of every stream (FEATX_STREAM_REPLICAS): 1 on one server, 3 on a 3-node cluster. Consumers inherit it. */
  replicas?: number;
  /** How long provisioning keeps retrying while a cluster settles; then it fails naming the last answer. */
  settleTimeoutMs?: number;
  /** Told about existing streams that differ from the setting (they are left as they are). */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * Creates the streams, or leaves them as they are. Several replicas start at once: whoever loses
 * the creation race sees "name already in use" and simply goes on with the existing stream. On a
 * cluster whose meta leader is still being elected, requests time out or answer "temporarily
 * unavailable": those are retried with backoff for up to settleTimeoutMs.
 *
 * An existing stream with other replicas than asked is left alone, with a warning: changing it is
 * an operator's decision (`nats stream edit --replicas`), not something every service start should
 * race to do, and scaling down while a replica is behind would drop its copy of the data.
 */
export async function provisionStreams(jsm: JetStreamManager, names: BusNames, options: ProvisionOptions = {}): Promise<void> {
  const replicas = options.replicas ?? 1;
  const settle = { timeoutMs: options.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS };
  for (const config of streamConfigs(names, replicas)) {
    await whileClusterSettles(`provisioning stream ${config.name}`, settle, async () => {
      let existing: StreamInfo | undefined;
      try {
        existing = await jsm.streams.info(config.name);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      if (!existing) {
        try {
          await jsm.streams.add(config);
          return;
        } catch (error) {
          if (error instanceof JetStreamApiError && error.code === REPLICAS_NOT_SUPPORTED) {
            throw new Error(`FEATX_STREAM_REPLICAS=${replicas} but the NATS server is not part of a JetStream cluster (${error.message}); use 1 on a single server`);
          }
          if (!(error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE)) throw error;
          existing = await jsm.streams.info(config.name);
        }
      }
      const actual = existing.config.num_replicas || 1;
      if (actual !== replicas) {
        options.warn?.(`stream ${config.name} has ${actual} replica(s) but FEATX_STREAM_REPLICAS is ${replicas}; left as it is (change it with nats stream edit ${config.name} --replicas ${replicas})`, {
          stream: config.name,
          replicas: actual,
          setting: replicas,
        });
      }
    });
  }
}

const DEFAULT_SETTLE_TIMEOUT_MS = 60000;

/**
 * Runs `attempt` until it succeeds, retrying what a settling cluster answers (timeouts, no
 * responders, CLUSTER_SETTLING codes) with backoff from 250 ms to 4 s, for at most timeoutMs.
 */
export async function whileClusterSettles<T>(what: string, limits: { timeoutMs: number }, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + limits.timeoutMs;
  let delayMs = 250;
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isClusterSettling(error)) throw error;
      if (Date.now() + delayMs > deadline) {
        throw new Error(`${what}: the JetStream cluster did not settle within ${limits.timeoutMs} ms (${attempts} attempts; last: ${(error as Error).message})`);
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 4000);
    }
  }
}

/** A JetStream API answer of a cluster not ready yet, or no answer at all (timeout, no responders). */
export function isClusterSettling(error: unknown): boolean {
  if (error instanceof JetStreamApiError) return CLUSTER_SETTLING.has(error.code);
  const name = (error as Error)?.name ?? '';
  const message = (error as Error)?.message ?? '';
  return /Timeout|NoResponders|RequestError|ConnectionError/i.test(name) || /timeout|no responders|503/i.test(message);
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
  await whileClusterSettles(`adding consumer ${spec.durable} on ${spec.stream}`, { timeoutMs: DEFAULT_SETTLE_TIMEOUT_MS }, async () => {
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
  });
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
