import { headers } from '@nats-io/nats-core';
import { encodeMessage, MessageContract, MessageOf, parseMessage } from '@featx/contracts';
import { BusConnection } from './connection';
import { PayloadTooLargeError } from './errors';

export interface PublishOptions {
  /** JetStream dedupe id: publishing the same id twice within the window stores one message. */
  msgId?: string;
}

export interface PublishResult {
  stream: string;
  seq: number;
  duplicate: boolean;
}

/** Validates against the contract (a bad message never reaches the bus), encodes, checks size, publishes. */
export async function publish<C extends MessageContract>(
  bus: BusConnection,
  contract: C,
  message: MessageOf<C>,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const valid = parseMessage(contract, message);
  const subject = contract.subject(bus.names);
  const data = encodeMessage(valid);
  // Headers and subject also count against max_payload; leave them a little room.
  if (data.byteLength + 512 > bus.maxPayload) throw new PayloadTooLargeError(subject, data.byteLength, bus.maxPayload);
  const ack = await whileStreamMoves(subject, options.msgId !== undefined, () => bus.js.publish(subject, data, { msgID: options.msgId, headers: contractHeaders(contract) }));
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
}

/** How long a publish keeps retrying while a stream has no leader (a NATS node lost, a cluster settling). */
const STREAM_MOVE_TIMEOUT_MS = 30000;

/**
 * On a cluster, a stream between leaders answers no one for a few seconds: nats.js reports "no
 * responders" as JetStreamNotEnabled, and nothing was stored, so the publish is repeated. A
 * timeout may have stored the message without the ack reaching us: it is repeated only when a
 * msgId makes the repeat a duplicate the stream drops.
 */
async function whileStreamMoves<T>(subject: string, deduplicated: boolean, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + STREAM_MOVE_TIMEOUT_MS;
  let delayMs = 250;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const name = (error as Error)?.name;
      const retry = name === 'JetStreamNotEnabled' || (deduplicated && name === 'TimeoutError');
      if (!retry || Date.now() + delayMs > deadline) {
        if (name === 'JetStreamNotEnabled') throw new Error(`publishing on ${subject}: no stream answered for ${STREAM_MOVE_TIMEOUT_MS} ms (no JetStream stream leader for it)`, { cause: error });
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 2000);
    }
  }
}

/** Names the message kind in a header, so `nats stream view` and other tools show what each message is. */
function contractHeaders(contract: MessageContract) {
  const h = headers();
  h.set('Featx-Message', contract.name);
  return h;
}
