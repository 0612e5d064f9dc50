import { addressedSubject, decodeMessage, encodeMessage, MessageOf, parseMessage, ReplyOf, RequestContract } from '@featx/contracts';
import { BusConnection } from '../connection';

/** The header NATS services (the `micro` framework, the `nats` CLI) use for an error reply. */
export const SERVICE_ERROR_HEADER = 'Nats-Service-Error';

export interface RequestOptions {
  /** Sends to the handlers serving this address only (e.g. the feature store holding a shard). */
  address?: string;
  timeoutMs?: number;
}

/** No handler answered in time (none running, or all busy). */
export class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
}

/** The handler answered with an error. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
}

/** Validates the request, sends it, and validates the reply against the contract's reply contract. */
export async function request<C extends RequestContract>(bus: BusConnection, contract: C, message: MessageOf<C>, options: RequestOptions = {}): Promise<ReplyOf<C>> {
  const valid = parseMessage(contract, message);
  const subject = options.address === undefined ? contract.subject(bus.names) : addressedSubject(contract.subject(bus.names), options.address);
  const reply = await bus.nc.request(subject, encodeMessage(valid), { timeout: options.timeoutMs ?? 30000 }).catch((error: Error) => {
    throw new NoAnswerError(`no answer to ${contract.name} on ${subject}: ${error.message}`);
  });
  const failure = reply.headers?.get(SERVICE_ERROR_HEADER);
  if (failure) throw new RemoteError(failure);
  return parseMessage(contract.reply, decodeMessage(reply.data)) as ReplyOf<C>;
}
