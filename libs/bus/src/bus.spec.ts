import { encodeMessage, registerDatasetCommand } from '@featx/contracts';
import { createTestBus, TestBus } from '@featx/testing';
import { BusConsumer, ConsumerSpec, MessageContext, PayloadTooLargeError, PermanentError, publish, provisionStreams, ensureConsumer, Rejection } from '.';

type Command = { path: string; seed: number };

const quietLogger = { warn: () => undefined, error: () => undefined };

class MemorySink {
  readonly rejections: Rejection[] = [];
  async record(rejection: Rejection) {
    this.rejections.push(rejection);
  }
}

function waitFor(condition: () => boolean, timeoutMs = 15000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (condition()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error('condition not met in time'));
      setTimeout(tick, 25);
    };
    tick();
  });
}

describe('bus over the real NATS JetStream', () => {
  let t: TestBus;
  const consumers: BusConsumer<typeof registerDatasetCommand>[] = [];

  beforeEach(async () => {
    t = await createTestBus();
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop(1000)));
    await t.cleanup();
  });

  async function startConsumer(
    handler: (m: Command, ctx: MessageContext) => Promise<void>,
    extra: Partial<ConsumerSpec<typeof registerDatasetCommand>> = {},
  ) {
    const sink = new MemorySink();
    const consumer = await BusConsumer.start(t.bus, {
      contract: registerDatasetCommand,
      stream: t.bus.names.streams.commands,
      durable: 'test-consumer',
      handler,
      rejections: sink,
      logger: quietLogger,
      backoff: { initialMs: 50, maxMs: 200 },
      ...extra,
    });
    consumers.push(consumer);
    return sink;
  }

  const subject = () => t.bus.names.subjects.registerDataset;

  it('provisions streams and consumers idempotently when replicas start together', async () => {
    await Promise.all([1, 2, 3].map(() => provisionStreams(t.bus.jsm, t.bus.names)));
    const spec = { stream: t.bus.names.streams.work, durable: 'racers', filterSubject: t.bus.names.subjects.extractWork, maxDeliver: 3, ackWaitMs: 5000 };
    await Promise.all([1, 2, 3].map(() => ensureConsumer(t.bus.jsm, spec)));
    const streams = await Promise.all(Object.values(t.bus.names.streams).map((s) => t.bus.jsm.streams.info(s)));
    expect(streams.map((s) => s.config.name).sort()).toEqual(Object.values(t.bus.names.streams).sort());
    const info = await t.bus.jsm.consumers.info(spec.stream, 'racers');
    expect(info.config.max_deliver).toBe(3);
  });

  it('deduplicates publishes that carry the same message id', async () => {
    const message = { v: 1 as const, path: 'a', layout: 'auto' as const, seed: 1 };
    const first = await publish(t.bus, registerDatasetCommand, message, { msgId: 'same-id' });
    const second = await publish(t.bus, registerDatasetCommand, message, { msgId: 'same-id' });
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    const info = await t.bus.jsm.streams.info(t.bus.names.streams.commands);
    expect(info.state.messages).toBe(1);
  });

  it('refuses to publish an invalid message or one over max_payload', async () => {
    await expect(publish(t.bus, registerDatasetCommand, { v: 1, path: '', layout: 'auto', seed: 1 })).rejects.toThrow(/field "path"/);
    const huge = 'x'.repeat(4096);
    await expect(
      publish(t.bus, registerDatasetCommand, { v: 1, path: huge, layout: 'auto', seed: 1, classes: Array.from({ length: 300 }, () => huge.slice(0, 200)).concat(Array(5000).fill('c'.repeat(200))) }),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
  });

  it('delivers valid msgpack and JSON messages to the handler', async () => {
    const seen: Command[] = [];
    await startConsumer(async (m) => {
      seen.push(m);
    });
    await publish(t.bus, registerDatasetCommand, { v: 1, path: 'one', layout: 'auto', seed: 1 });
    await t.bus.js.publish(subject(), JSON.stringify({ v: 1, path: 'two' }));
    await waitFor(() => seen.length === 2);
    expect(seen.map((m) => m.path)).toEqual(['one', 'two']);
    expect(seen[1].seed).toBe(42); // defaults applied
  });

  it('rejects and records garbage, wrong shapes and unknown versions, and goes on', async () => {
    const seen: string[] = [];
    const sink = await startConsumer(async (m) => {
      seen.push(m.path);
    });
    await t.bus.js.publish(subject(), new Uint8Array([0xc1, 0xff, 0x00, 0x13]));
    await t.bus.js.publish(subject(), encodeMessage({ v: 1, path: 42 }));
    await t.bus.js.publish(subject(), encodeMessage({ v: 7, path: 'x' }));
    await t.bus.js.publish(subject(), encodeMessage([1, 2, 3]));
    await t.bus.js.publish(subject(), '{not json');
    await publish(t.bus, registerDatasetCommand, { v: 1, path: 'after', layout: 'auto', seed: 1 });
    await waitFor(() => seen.length === 1 && sink.rejections.length === 5);
    expect(seen).toEqual(['after']);
    const reasons = sink.rejections.map((r) => `${r.kind}: ${r.reason}`);
    expect(reasons[0]).toMatch(/^decode: .*not valid msgpack/);
    expect(reasons[1]).toMatch(/^validation: .*field "path"/);
    expect(reasons[2]).toMatch(/^validation: .*unsupported version 7/);
    expect(reasons[3]).toMatch(/^validation: .*expected an object, got an array/);
    expect(reasons[4]).toMatch(/^decode: .*not valid JSON/);
    // Terminated, not redelivered: nothing is pending on the consumer.
    await waitFor(() => true);
    const info = await t.bus.jsm.consumers.info(t.bus.names.streams.commands, 'test-consumer');
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });

  it('retries a failing handler with backoff and gives up after maxDeliver, recording the poison message', async () => {
    const attempts: Record<string, number> = {};
    const sink = await startConsumer(
      async (m) => {
        attempts[m.path] = (attempts[m.path] ?? 0) + 1;
        if (m.path === 'poison') throw new Error('boom');
        if (m.path === 'flaky' && attempts[m.path] < 2) throw new Error('transient');
      },
      { maxDeliver: 3, concurrency: 2 },
    );
    await publish(t.bus, registerDatasetCommand, { v: 1, path: 'poison', layout: 'auto', seed: 1 });
    await publish(t.bus, registerDatasetCommand, { v: 1, path: 'flaky', layout: 'auto', seed: 1 });
    await publish(t.bus, registerDatasetCommand, { v: 1, path: 'fine', layout: 'auto', seed: 1 });
    await waitFor(() => sink.rejections.length === 1 && attempts.fine === 1 && attempts.flaky === 2);
    expect(attempts.poison).toBe(3);
    expect(sink.rejections[0]).toMatchObject({ kind: 'max-deliveries', deliveryCount: 3 });
    expect(sink.rejections[0].reason).toMatch(/failed 3 times, last: boom/);
  });

  it('terminates at once on a PermanentError', async () => {
    let calls = 0;
    const sink = await startConsumer(async () => {
      calls += 1;
      throw new PermanentError('no such folder');
    });
    await publish(t.bus, registerDatasetCommand, { v: 1, path: 'gone', layout: 'auto', seed: 1 });
    await waitFor(() => sink.rejections.length === 1);
    expect(calls).toBe(1);
    expect(sink.rejections[0]).toMatchObject({ kind: 'permanent', reason: 'no such folder' });
  });

  it('keeps a long-running message from being redelivered by signalling progress', async () => {
    const deliveries: number[] = [];
    await startConsumer(
      async (_m, ctx) => {
        deliveries.push(ctx.deliveryCount);
        await new Promise((resolve) => setTimeout(resolve, 3500));
      },
      { ackWaitMs: 1500 },
    );
    await publish(t.bus, registerDatasetCommand, { v: 1, path: 'slow', layout: 'auto', seed: 1 });
    await waitFor(() => deliveries.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 4500));
    expect(deliveries).toEqual([1]);
  });
});
