/**
 * nats.js (transport-node 3.4) leaves a stale connection (a node that stopped answering pings) by
 * flushing what it has queued first and only then closing the socket. Towards a host that dropped
 * off the network the flush never ends once the socket's buffers are full, as they are after a
 * few feature batches: no 'disconnect', no reconnect to another node, the client stalls until the
 * kernel gives up on the connection many minutes later (nats.node issue 531). In the multi-host
 * suite, extractors connected to a node whose host was cut off pulled nothing for minutes.
 *
 * `closeStaleConnectionsPromptly` bounds that flush: what has not left in FLUSH_MS is dropped with
 * the socket, as it would be on a dead connection anyway (JetStream publishes are retried by
 * their callers; pulls are made again on the next node).
 */
const FLUSH_MS = 1000;

/** transport-node's `NodeTransport`, the parts this relies on. */
interface NodeTransportState {
  socket?: { destroy(error?: Error): void };
  _closed(error?: Error, internal?: boolean): Promise<void>;
}

interface NodeTransportClass {
  prototype: NodeTransportState & { disconnect(): void; featxBoundedFlush?: true };
}

let patched = false;

/** Patches transport-node once per process; a transport-node without the shape it expects is left as it is. */
export function closeStaleConnectionsPromptly(): boolean {
  if (patched) return true;
  let NodeTransport: NodeTransportClass | undefined;
  try {
    // Not in the package's entry points: its own module, as connect() uses it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ({ NodeTransport } = require('@nats-io/transport-node/lib/node_transport') as { NodeTransport?: NodeTransportClass });
  } catch {
    return false;
  }
  const proto = NodeTransport?.prototype;
  if (!proto || typeof proto.disconnect !== 'function' || typeof proto._closed !== 'function') return false;
  if (proto.featxBoundedFlush) return (patched = true);
  proto.disconnect = function disconnectWithBoundedFlush(this: NodeTransportState): void {
    const socket = this.socket;
    // Destroying the socket fails the pending flush, and _closed then finishes the close.
    const timer = setTimeout(() => socket?.destroy(new Error(`no flush in ${FLUSH_MS} ms`)), FLUSH_MS);
    this._closed(undefined, true)
      .catch(() => undefined)
      .finally(() => clearTimeout(timer));
  };
  proto.featxBoundedFlush = true;
  return (patched = true);
}
