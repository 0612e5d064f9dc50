import { randomBytes } from 'node:crypto';
import { artifactStreamName, BusConnection, connectBus, provisionStreams } from '@featx/bus';

export const TEST_NATS_URL = process.env.FEATX_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A namespace of its own per test file, so streams and subjects never collide between runs. */
export function testNamespace(): string {
  return `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export interface TestBus {
  bus: BusConnection;
  namespace: string;
  /** Deletes the namespace's streams and its artifacts bucket, and closes the connection. */
  cleanup(): Promise<void>;
}

export async function createTestBus(namespace = testNamespace(), url = TEST_NATS_URL): Promise<TestBus> {
  const bus = await connectBus({ url, name: `featx-test-${namespace}`, namespace, connectTimeoutMs: 5000 });
  await provisionStreams(bus.jsm, bus.names);
  return {
    bus,
    namespace,
    async cleanup() {
      for (const stream of Object.values(bus.names.streams)) {
        await bus.jsm.streams.delete(stream).catch(() => undefined);
      }
      // The artifacts bucket, where the services opened it (ArtifactStore.open).
      await bus.jsm.streams.delete(artifactStreamName(bus.names)).catch(() => undefined);
      await bus.nc.close();
    },
  };
}
