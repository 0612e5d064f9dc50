import { connect } from '@nats-io/transport-node';
import { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { BusNames, busNames } from '@featx/contracts';
import { presizeLargePayloads } from './large-payloads';
import { closeStaleConnectionsPromptly } from './stale-connections';

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

/**
 * How long a dial may take to its first PONG. A node whose host dropped off the network never
 * refuses a dial: nats.js's 20 s default spent that long on it at each reconnect before trying the
 * next node.
 */
const DIAL_TIMEOUT_MS = 5000;

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
  closeStaleConnectionsPromptly();
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
        timeout: DIAL_TIMEOUT_MS,
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

export interface ConnectionEventLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Logs the connection's changes of server until it closes: which node it lost and why (a stale
 * connection is a node that stopped answering pings, e.g. its host cut off), and which it moved to.
 * Pings, reconnect attempts and the cluster's address gossip are left out: they repeat.
 */
export async function logConnectionEvents(bus: BusConnection, logger: ConnectionEventLogger): Promise<void> {
  for await (const status of bus.nc.status()) {
    switch (status.type) {
      case 'disconnect':
        logger.warn('disconnected from NATS', { server: status.server });
        break;
      case 'staleConnection':
        logger.warn('NATS server stopped answering pings; moving to another', { server: bus.nc.getServer() });
        break;
      case 'reconnect':
        logger.info('reconnected to NATS', { server: status.server });
        break;
      case 'ldm':
        logger.warn('NATS server entering lame duck mode; moving to another', { server: status.server });
        break;
      case 'error':
        logger.warn('NATS connection error', { error: status.error.message });
        break;
      case 'slowConsumer':
        logger.warn('NATS subscription falling behind', { subject: status.sub.getSubject(), pending: status.pending });
        break;
    }
  }
}

/** Resolves when the server answered a round trip: the connection is usable now. */
export function pingBus(bus: BusConnection): Promise<void> {
  return bus.nc.flush();
}

/** Lets queued publishes and subscriptions finish, then closes the connection (service shutdown). */
export function drainBus(bus: BusConnection): Promise<void> {
  return bus.nc.drain();
}
