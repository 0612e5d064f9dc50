import { createHash, randomBytes } from 'node:crypto';
import { createTestBus, TestBus } from '@featx/testing';
import { presizeLargePayloads } from './large-payloads';

const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** nats.js's parser, reserving a message's size once it spans socket reads: every byte still arrives as sent. */
describe('presizeLargePayloads', () => {
  let t: TestBus;

  beforeAll(async () => {
    t = await createTestBus();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('is in place once a bus is connected', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Parser } = require('@nats-io/nats-core/internal') as { Parser: { prototype: { featxPresized?: true } } };
    expect(Parser.prototype.featxPresized).toBe(true);
    expect(presizeLargePayloads()).toBe(true);
  });

  it('delivers messages of every size up to max_payload whole, several at once, large ones at the start of their own buffer', async () => {
    const sizes = [0, 1, 4095, 65535, 65536 + 7, 300001, 1 << 20, t.bus.maxPayload - 200].filter((size) => size <= t.bus.maxPayload - 200);
    const sent = sizes.flatMap((size) => [randomBytes(size), randomBytes(size)]);
    const subject = `${t.namespace}.large-payloads`;
    const received: Array<{ digest: string; byteOffset: number; length: number }> = [];
    const done = new Promise<void>((resolve) => {
      t.bus.nc.subscribe(subject, {
        callback: (_error, message) => {
          received.push({ digest: digest(message.data), byteOffset: message.data.byteOffset, length: message.data.length });
          if (received.length === sent.length) resolve();
        },
      });
    });
    await t.bus.nc.flush();
    for (const payload of sent) t.bus.nc.publish(subject, payload);
    await done;
    expect(received.map((r) => r.digest)).toEqual(sent.map(digest));
    // Assembled from several reads into a buffer of its own: shard replies rely on it for aligned views.
    for (const r of received.filter((r) => r.length > 256 * 1024)) expect(r.byteOffset).toBe(0);
  });
});
