import { ConsumerSettings } from '../consumer';

/**
 * What `@EventPattern(contract.name, extras)` may say about its durable consumer. Streams and
 * subjects come from the contract; these defaults may be overridden per service (configuration).
 */
export type EventHandlerOptions = ConsumerSettings;

/**
 * What `@MessagePattern(contract.name, extras)` may say about a request handler.
 * `addressed`: the handler answers only requests sent to this process's address (the transport's
 * `address` option, e.g. a feature store's id, since each store answers for its own shards).
 */
export interface RequestHandlerOptions {
  /** Replicas with the same queue group (and address) share the requests. */
  queue: string;
  addressed?: boolean;
}
