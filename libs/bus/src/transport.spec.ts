import 'reflect-metadata';
import { Controller, INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { encodeMessage, MessageOf, readShardRequest, registerDatasetCommand } from '@featx/contracts';
import { createTestBus, TestBus } from '@featx/testing';
import {
  BusClient,
  ensureConsumer,
  JetStreamContext,
  JetStreamServer,
  KeepHandlerErrors,
  NoAnswerError,
  PayloadTooLargeError,
  PermanentError,
  provisionStreams,
  Rejection,
  RemoteError,
} from '.';

type Command = MessageOf<typeof registerDatasetCommand>;
type ReadRequest = MessageOf<typeof readShardRequest>;

/** What the test handlers do; each test sets its own. */
const behaviour: {
  command: (m: Command, ctx: JetStreamContext) => Promise<void>;
  read: (m: ReadRequest) => Promise<unknown>;
} = { command: async () => undefined, read: async () => undefined };

const DURABLE = 'test-consumer';

@Controller()
class TestHandlers {
  @EventPattern(registerDatasetCommand.name, { durable: DURABLE, maxDeliver: 3, ackWaitMs: 1500, backoff: { initialMs: 50, maxMs: 200 }, concurrency: 2 })
  command(@Payload() message: Command, @Ctx() context: JetStreamContext): Promise<void> {
    return behaviour.command(message, context);
  }

  @MessagePattern(readShardRequest.name, { queue: 'test-readers', addressed: true })
  read(@Payload() message: ReadRequest): Promise<unknown> {
    return behaviour.read(message);
  }
}

@Module({ controllers: [TestHandlers] })
class TestModule {}

class MemorySink {
  readonly rejections: Rejection[] = [];
  async record(rejection: Rejection) {
    this.rejections.push(rejection);
  }
}

const quietLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the JetStream transport over the real NATS JetStream', () => {
  let t: TestBus;
  let client: BusClient;
  let sink: MemorySink;
  let app: INestMicroservice | undefined;

  beforeEach(async () => {
    t = await createTestBus();
    client = new BusClient(t.bus);
    sink = new MemorySink();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await t.cleanup();
  });

  /** The test handlers as a Nest microservice on the transport, as every featx service runs them. */
  async function startHandlers(): Promise<void> {
    const server = new JetStreamServer({ bus: t.bus, rejections: sink, logger: quietLogger, address: 'store-1', shutdownTimeoutMs: 5000 });
    app = await NestFactory.createMicroservice(TestModule, { strategy: server, logger: false });
    app.useGlobalFilters(new KeepHandlerErrors());
    await app.listen();
  }

  const command = (path: string) => client.dispatch(registerDatasetCommand, { v: 1, path, layout: 'auto', seed: 1 });
  const subject = () => t.bus.names.subjects.registerDataset;
  const consumerInfo = () => t.bus.jsm.consumers.info(t.bus.names.streams.commands, DURABLE);

  it('provisions streams and consumers idempotently when replicas start together', async () => {
    await Promise.all([1, 2, 3].map(() => provisionStreams(t.bus.jsm, t.bus.names)));
    const spec = { stream: t.bus.names.streams.work, durable: 'racers', filterSubject: t.bus.names.subjects.extractWork, maxDeliver: 3, ackWaitMs: 5000 };
    await Promise.all([1, 2, 3].map(() => ensureConsumer(t.bus.jsm, spec)));
    const streams = await Promise.all(Object.values(t.bus.names.streams).map((s) => t.bus.jsm.streams.info(s)));
    expect(streams.map((s) => s.config.name).sort()).toEqual(Object.values(t.bus.names.streams).sort());
    const info = await t.bus.jsm.consumers.info(spec.stream, 'racers');
    expect(info.config.max_deliver).toBe(3);
  });

  it('leaves an existing stream with other replicas than FEATX_STREAM_REPLICAS as it is, warning with both values', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    await provisionStreams(t.bus.jsm, t.bus.names, { replicas: 2, warn: (_message, fields) => warnings.push(fields) });
    expect(warnings).toEqual(Object.values(t.bus.names.streams).map((stream) => ({ stream, replicas: 1, setting: 2 })));
    const streams = await Promise.all(Object.values(t.bus.names.streams).map((s) => t.bus.jsm.streams.info(s)));
    expect(streams.map((s) => s.config.num_replicas)).toEqual([1, 1, 1, 1]);
  });

  it('refuses replicated streams on a server that is not in a cluster, naming the setting', async () => {
    const other = await createTestBus(undefined);
    try {
      for (const stream of Object.values(other.bus.names.streams)) await other.bus.jsm.streams.delete(stream);
      await expect(provisionStreams(other.bus.jsm, other.bus.names, { replicas: 3 })).rejects.toThrow(/FEATX_STREAM_REPLICAS=3 .*not part of a JetStream cluster/);
    } finally {
      await other.cleanup();
    }
  });

  it('deduplicates emitted messages that carry the same message id', async () => {
    const message = { v: 1 as const, path: 'a', layout: 'auto' as const, seed: 1 };
    const first = await client.dispatch(registerDatasetCommand, message, { msgId: 'same-id' });
    const second = await client.dispatch(registerDatasetCommand, message, { msgId: 'same-id' });
    expect([first.duplicate, second.duplicate]).toEqual([false, true]);
    expect((await t.bus.jsm.streams.info(t.bus.names.streams.commands)).state.messages).toBe(1);
  });

  it('refuses to emit an invalid message or one over max_payload', async () => {
    await expect(client.dispatch(registerDatasetCommand, { v: 1, path: '', layout: 'auto', seed: 1 })).rejects.toThrow(/field "path"/);
    const classes = Array.from({ length: 5300 }, () => 'c'.repeat(200));
    await expect(client.dispatch(registerDatasetCommand, { v: 1, path: 'x'.repeat(4096), layout: 'auto', seed: 1, classes })).rejects.toBeInstanceOf(PayloadTooLargeError);
  });

  it('hands valid msgpack and JSON messages to the @EventPattern handler and acks them', async () => {
    const seen: Command[] = [];
    behaviour.command = async (m) => {
      seen.push(m);
    };
    await startHandlers();
    await command('one');
    await t.bus.js.publish(subject(), JSON.stringify({ v: 1, path: 'two' }));
    await waitFor(() => seen.length === 2);
    expect(seen.map((m) => m.path).sort()).toEqual(['one', 'two']);
    expect(seen.find((m) => m.path === 'two')?.seed).toBe(42); // defaults applied
    await sleep(200);
    expect((await consumerInfo()).num_ack_pending).toBe(0);
  });

  it('terminates and records garbage, wrong shapes and unknown versions, and goes on', async () => {
    const seen: string[] = [];
    behaviour.command = async (m) => {
      seen.push(m.path);
    };
    await startHandlers();
    for (const data of [new Uint8Array([0xc1, 0xff, 0x00, 0x13]), encodeMessage({ v: 1, path: 42 }), encodeMessage({ v: 7, path: 'x' }), encodeMessage([1, 2, 3]), new TextEncoder().encode('{not json')]) {
      await t.bus.js.publish(subject(), data);
    }
    await command('after');
    await waitFor(() => seen.length === 1 && sink.rejections.length === 5);
    expect(seen).toEqual(['after']);
    const reasons = sink.rejections.sort((a, b) => a.streamSequence - b.streamSequence).map((r) => `${r.kind}: ${r.reason}`);
    expect(reasons[0]).toMatch(/^decode: .*not valid msgpack/);
    expect(reasons[1]).toMatch(/^validation: .*field "path"/);
    expect(reasons[2]).toMatch(/^validation: .*unsupported version 7/);
    expect(reasons[3]).toMatch(/^validation: .*expected an object, got an array/);
    expect(reasons[4]).toMatch(/^decode: .*not valid JSON/);
    // Terminated, not redelivered: nothing is pending on the consumer.
    const info = await consumerInfo();
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });

  it('naks a failing handler with backoff and gives up after maxDeliver, recording the poison message', async () => {
    const attempts: Record<string, number> = {};
    behaviour.command = async (m) => {
      attempts[m.path] = (attempts[m.path] ?? 0) + 1;
      if (m.path === 'poison') throw new Error('boom');
      if (m.path === 'flaky' && attempts[m.path] < 2) throw new Error('transient');
    };
    await startHandlers();
    for (const path of ['poison', 'flaky', 'fine']) await command(path);
    await waitFor(() => sink.rejections.length === 1 && attempts.fine === 1 && attempts.flaky === 2);
    expect(attempts.poison).toBe(3);
    expect(sink.rejections[0]).toMatchObject({ kind: 'max-deliveries', deliveryCount: 3 });
    expect(sink.rejections[0].reason).toMatch(/failed 3 times, last: boom/);
  });

  it('terminates at once on a PermanentError, keeping its reason', async () => {
    let calls = 0;
    behaviour.command = async () => {
      calls += 1;
      throw new PermanentError('no such folder');
    };
    await startHandlers();
    await command('gone');
    await waitFor(() => sink.rejections.length === 1);
    expect(calls).toBe(1);
    expect(sink.rejections[0]).toMatchObject({ kind: 'permanent', reason: 'no such folder' });
  });

  it('keeps a long-running message from being redelivered by signalling progress', async () => {
    const deliveries: number[] = [];
    behaviour.command = async (_m, context) => {
      deliveries.push(context.getDeliveryCount());
      await sleep(3500);
    };
    await startHandlers();
    await command('slow');
    await waitFor(() => deliveries.length === 1);
    await sleep(4500);
    expect(deliveries).toEqual([1]);
  });

  it('drains on shutdown: the message in flight finishes and is acked, nothing after it is taken', async () => {
    const started: string[] = [];
    const finished: string[] = [];
    behaviour.command = async (m) => {
      started.push(m.path);
      await sleep(1000);
      finished.push(m.path);
    };
    await startHandlers();
    await command('in-flight');
    await waitFor(() => started.length === 1);
    await app!.close();
    app = undefined;
    expect(finished).toEqual(['in-flight']);
    expect(started).toEqual(['in-flight']);
    await command('after-close');
    await sleep(300);
    const info = await consumerInfo();
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(1);
    expect(started).toEqual(['in-flight']);
  });

  it('answers @MessagePattern requests on its address with validated replies, and carries handler errors back', async () => {
    const shardId = '00000000-0000-4000-8000-000000000001';
    behaviour.read = async (m) => {
      if (m.start > 10) throw new Error(`rows from ${m.start} are outside shard ${m.shardId}`);
      return { v: 1, start: m.start, rows: m.count, dim: 1, features: new Uint8Array(4 * m.count), labels: Array(m.count).fill(0), imageIds: Array(m.count).fill(7) };
    };
    await startHandlers();
    const reply = await client.request(readShardRequest, { v: 1, shardId, start: 2, count: 3 }, { address: 'store-1' });
    expect(reply).toMatchObject({ start: 2, rows: 3, imageIds: [7, 7, 7] });
    await expect(client.request(readShardRequest, { v: 1, shardId, start: 20, count: 1 }, { address: 'store-1' })).rejects.toThrow(RemoteError);
    await expect(client.request(readShardRequest, { v: 1, shardId, start: 20, count: 1 }, { address: 'store-1' })).rejects.toThrow(/rows from 20 are outside shard/);
    await expect(client.request(readShardRequest, { v: 1, shardId, start: 0, count: 1 }, { address: 'store-2', timeoutMs: 500 })).rejects.toBeInstanceOf(NoAnswerError);
    await expect(client.request(readShardRequest, { v: 1, shardId: 'not-a-uuid', start: 0, count: 1 }, { address: 'store-1' })).rejects.toThrow(/field "shardId"/);
    behaviour.read = async () => ({ v: 1, rows: 'many' });
    await expect(client.request(readShardRequest, { v: 1, shardId, start: 0, count: 1 }, { address: 'store-1' })).rejects.toThrow(/features\.read\.reply/);
  });
});
