import { busNames, decodeMessage, MessageContract, MessageOf } from '@featx/contracts';
import type { BusConnection } from '../connection';
import { BusClient } from '../transport/bus.client';

/** One message as JetStream would have stored it. */
export interface DispatchedMessage {
  /** The contract's name, e.g. `datasets.register`. */
  contract: string;
  subject: string;
  /** The message after validation and a msgpack round trip: what a handler would receive. */
  message: Record<string, unknown>;
  msgId?: string;
}

export interface RecordingBusClientOptions {
  namespace?: string;
  /** The server's max_payload the size check uses (NATS' default: 1 MiB). */
  maxPayload?: number;
}

/**
 * A `BusClient` for unit tests: `dispatch` runs the real publish path (contract validation,
 * encoding, max_payload check, msg id) and records what JetStream would have stored instead of
 * sending it, deduplicating by msg id as JetStream does. Requests are not served: a service
 * that asks other services belongs in an integration test.
 */
export class RecordingBusClient extends BusClient {
  private readonly recording: Recording;

  constructor(options: RecordingBusClientOptions = {}) {
    const recording: Recording = { dispatched: [] };
    super(recordingConnection(recording, options));
    this.recording = recording;
  }

  /** Everything stored so far, in order. */
  get dispatched(): readonly DispatchedMessage[] {
    return this.recording.dispatched;
  }

  /** Messages of one contract, in the order they were dispatched. */
  messagesOf<C extends MessageContract>(contract: C): Array<MessageOf<C>> {
    return this.dispatched.filter((d) => d.contract === contract.name).map((d) => d.message as MessageOf<C>);
  }

  /** Every later dispatch fails with `error` (JetStream unreachable, say) until called with `undefined`. */
  failDispatches(error: Error | undefined): void {
    this.recording.failure = error;
  }
}

interface Recording {
  dispatched: DispatchedMessage[];
  failure?: Error;
}

function recordingConnection(recording: Recording, options: RecordingBusClientOptions): BusConnection {
  const names = busNames(options.namespace ?? 'unit');
  const seenIds = new Set<string>();
  const js = {
    async publish(subject: string, data: Uint8Array, publishOptions: { msgID?: string; headers?: { get(key: string): string } } = {}) {
      if (recording.failure) throw recording.failure;
      const recorded = recording.dispatched;
      const duplicate = publishOptions.msgID !== undefined && seenIds.has(publishOptions.msgID);
      if (!duplicate) {
        if (publishOptions.msgID !== undefined) seenIds.add(publishOptions.msgID);
        recorded.push({
          contract: publishOptions.headers?.get('Featx-Message') ?? '',
          subject,
          message: decodeMessage(data) as Record<string, unknown>,
          msgId: publishOptions.msgID,
        });
      }
      return { stream: `recorded-${names.namespace}`, seq: recorded.length, duplicate };
    },
  };
  const nc = {
    request(subject: string): Promise<never> {
      return Promise.reject(new Error(`the recording bus serves no requests (${subject})`));
    },
  };
  // Only what publish() and request() touch; the management API has no place in a unit test.
  return { nc, js, jsm: undefined, names, maxPayload: options.maxPayload ?? 1024 * 1024 } as unknown as BusConnection;
}
