import * as net from 'node:net';
import { connect } from '@nats-io/transport-node';
import { NatsConnection } from '@nats-io/nats-core';
import { freePort, TEST_NATS_URL } from '@featx/testing';
import { BusConnection, logConnectionEvents } from './connection';
import { closeStaleConnectionsPromptly } from './stale-connections';

/**
 * A node that answers the handshake, then goes silent and stops reading: a host cut off the
 * network as the client sees it (no reset, its pings unanswered, its socket buffers filling up).
 */
async function silentNode(): Promise<{ url: string; close(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    server.close(); // one connection: a host cut off takes no new ones either
    socket.on('error', () => undefined);
    socket.write(`INFO {"server_id":"SILENT","server_name":"silent","version":"2.10.0","proto":1,"headers":true,"max_payload":1048576,"host":"127.0.0.1","port":${port}}\r\n`);
    let seen = '';
    socket.on('data', function handshake(chunk: Buffer) {
      seen += chunk.toString('latin1');
      if (!seen.includes('PING\r\n')) return;
      socket.write('PONG\r\n');
      socket.off('data', handshake);
      socket.pause(); // reads nothing more: the client's writes back up
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `nats://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    },
  };
}

describe('closeStaleConnectionsPromptly', () => {
  it('is in place, once per process', () => {
    expect(closeStaleConnectionsPromptly()).toBe(true);
    expect(closeStaleConnectionsPromptly()).toBe(true);
  });

  it('leaves a node that stopped answering, with megabytes still queued for it, for the next node within seconds', async () => {
    closeStaleConnectionsPromptly();
    const silent = await silentNode();
    let connection: NatsConnection | undefined;
    try {
      const nc = (connection = await connect({ servers: [silent.url, TEST_NATS_URL], noRandomize: true, ignoreClusterUpdates: true, pingInterval: 250, maxPingOut: 2, reconnectTimeWait: 100, maxReconnectAttempts: -1, timeout: 2000 }));
      expect(nc.getServer()).toBe(silent.url.replace('nats://', ''));
      // What a service logs of it (logConnectionEvents, as every service runs it).
      const logged: Array<[string, Record<string, unknown> | undefined]> = [];
      let onReconnect: () => void = () => undefined;
      const reconnected = new Promise<void>((resolve) => (onReconnect = resolve));
      const record = (message: string, fields?: Record<string, unknown>) => {
        logged.push([message, fields]);
        if (message === 'reconnected to NATS') onReconnect();
      };
      void logConnectionEvents({ nc } as BusConnection, { info: record, warn: record });
      // More than the loopback socket's buffers take: the flush before the close cannot finish.
      const chunk = new Uint8Array(512 * 1024);
      for (let i = 0; i < 64; i++) nc.publish('featx.stale-connections.filler', chunk);
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([reconnected, new Promise<void>((resolve) => (timer = setTimeout(resolve, 15000)))]);
      clearTimeout(timer);
      const silentServer = silent.url.replace('nats://', '');
      expect(logged).toEqual([
        ['NATS server stopped answering pings; moving to another', { server: silentServer }],
        ['disconnected from NATS', { server: silentServer }],
        ['reconnected to NATS', { server: TEST_NATS_URL.replace('nats://', '') }],
      ]);
      expect(Date.now() - started).toBeLessThan(10000);
      await nc.flush(); // usable on the next node
    } finally {
      await connection?.close().catch(() => undefined);
      await silent.close();
    }
  }, 30000);
});
