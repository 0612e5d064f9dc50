import { createTestBus, TestBus } from '@featx/testing';
import { BusConsumer } from '.';

const quietLogger = { warn: () => undefined, error: () => undefined };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Replicas share a backlog by how fast they work: a consumer holds no more messages than it has
 * free slots, even after its slots stayed full longer than its pulls' heartbeats (the case that
 * made nats.js's consume() ask for the whole backlog once the handler came back).
 */
describe('BusConsumer (real NATS)', () => {
  let t: TestBus;
  beforeAll(async () => {
    t = await createTestBus();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('takes only what its free slots can start, after a handler held every slot for longer than two heartbeats', async () => {
    const { bus } = t;
    const subject = bus.names.subjects.registerDataset;
    for (let i = 0; i < 20; i++) await bus.js.publish(subject, new TextEncoder().encode(String(i)));

    const started: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let releaseLater!: () => void;
    const heldLater = new Promise<void>((resolve) => (releaseLater = resolve));
    const consumer = await BusConsumer.start<number>(bus, {
      stream: bus.names.streams.commands,
      filterSubject: subject,
      durable: 'slots',
      kind: 'test',
      concurrency: 2,
      ackWaitMs: 60000,
      parse: (data) => Number(new TextDecoder().decode(data)),
      handler: async (message) => {
        started.push(message);
        await (started.length <= 2 ? held : heldLater);
      },
      rejections: { record: async () => undefined },
      logger: quietLogger,
    });
    try {
      // Pulls expire after 5 s, heartbeats every 2.5 s: 12 s with both slots busy is several missed.
      await sleep(12000);
      expect(started).toHaveLength(2);
      expect((await bus.jsm.consumers.info(bus.names.streams.commands, 'slots')).num_ack_pending).toBe(2);

      release();
      // Free again, it takes two more, one a slot: the rest stay in the stream for other replicas.
      await sleep(1000);
      expect(started).toHaveLength(4);
      const info = await bus.jsm.consumers.info(bus.names.streams.commands, 'slots');
      expect(info.num_ack_pending).toBe(2);
      expect(info.num_pending).toBe(16);
    } finally {
      release();
      releaseLater();
      await consumer.stop(2000);
    }
  }, 30000);
});
