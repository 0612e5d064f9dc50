import { connect } from '@nats-io/transport-node';
import { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { BusNames, busNames } from '@featx/contracts';
import { presizeLargePayloads } from './large-payloads';

export interface BusConnectionOptions {
  url: string;
  /** Shown in the server's connection list, e.g. `featx-extractor`. */
  name: string;
  namespace: string;
  user?: string;
  password?: string;
  token?: string;
  /** How long to keep trying the first connection before giving up. */
  connectTimeoutMs?: number;
  /** Round trips to the server this often; two unanswered ones and the client moves to another node. */
  pingIntervalMs?: number;
}

/**
 * nats.js pings every 2 minutes by default: a node whose host drops off the network (no RST, the
 * packets simply lost) kept its clients for up to 6 minutes, stalling every consumer on it. At
 * 10 s, such a node is left within about 30 s.
 */
export const DEFAULT_PING_INTERVAL_MS = 10000;

export interface BusConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: BusNames;
  /** The server's max_payload: no message may be larger. */
  maxPayload: number;
}

/** Connects with unlimited reconnects: a service outlives NATS restarts instead of exiting. */
export async function connectBus(options: BusConnectionOptions): Promise<BusConnection> {
  const deadline = Date.now() + (options.connectTimeoutMs ?? 30000);
  let lastError: unknown;
  presizeLargePayloads();
  while (Date.now() < deadline) {
    try {
      const nc = await connect({
        servers: options.url.split(','),
        name: options.name,
        user: options.user,
        pass: options.password,
        token: options.token,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        waitOnFirstConnect: false,
        pingInterval: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
        maxPingOut: 2,
      });
      const jsm = await jetstreamManager(nc);
      return { nc, js: jetstream(nc), jsm, names: busNames(options.namespace), maxPayload: nc.info?.max_payload ?? 1024 * 1024 };
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  throw new Error(`cannot connect to NATS at ${options.url}: ${(lastError as Error)?.message ?? lastError}`);
}

/** Resolves when the server answered a round trip: the connection is usable now. */
export function pingBus(bus: BusConnection): Promise<void> {
  return bus.nc.flush();
}

/** Lets queued publishes and subscriptions finish, then closes the connection (service shutdown). */
export function drainBus(bus: BusConnection): Promise<void> {
  return bus.nc.drain();
}
