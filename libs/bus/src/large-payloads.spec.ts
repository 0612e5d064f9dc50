import { createHash, randomBytes } from 'node:crypto';
import { createTestBus, TestBus } from '@featx/testing';
import { presizeLargePayloads } from './large-payloads';
import { releasePayload } from './payload-buffers';

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

  it('assembles the next large message in the buffer a reader gave back, and only then', async () => {
    const size = Math.min(1 << 20, t.bus.maxPayload - 200) - 4096;
    const subject = `${t.namespace}.lent-payloads`;
    const messages: Uint8Array[] = [];
    let arrived: () => void = () => undefined;
    t.bus.nc.subscribe(subject, {
      callback: (_error, message) => {
        messages.push(message.data);
        arrived();
      },
    });
    await t.bus.nc.flush();
    const send = async (payload: Uint8Array) => {
      const received = new Promise<void>((resolve) => (arrived = resolve));
      t.bus.nc.publish(subject, payload);
      await received;
      return messages[messages.length - 1]!;
    };
    const sent = [randomBytes(size), randomBytes(size), randomBytes(size)];
    const first = await send(sent[0]!);
    expect(digest(first)).toBe(digest(sent[0]!));
    // Not given back: the next message gets other memory, and the first stays as it arrived.
    const second = await send(sent[1]!);
    expect(second.buffer).not.toBe(first.buffer);
    expect(digest(first)).toBe(digest(sent[0]!));
    // Given back (through a view of part of it, as a reader holds a msgpack bin field): reused, whole.
    expect(releasePayload(new Uint16Array(second.buffer, 64, 32))).toBe(true);
    const third = await send(sent[2]!);
    expect(third.buffer).toBe(second.buffer);
    expect(digest(third)).toBe(digest(sent[2]!));
    expect(releasePayload(third)).toBe(true);
    expect(releasePayload(third)).toBe(false);
  });
});
