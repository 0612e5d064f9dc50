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
  const ack = await bus.js.publish(subject, data, { msgID: options.msgId, headers: contractHeaders(contract) });
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
}

/** Names the message kind in a header, so `nats stream view` and other tools show what each message is. */
function contractHeaders(contract: MessageContract) {
  const h = headers();
  h.set('Featx-Message', contract.name);
  return h;
}
