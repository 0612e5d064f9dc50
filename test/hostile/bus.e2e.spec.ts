import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import sharp from 'sharp';
import { BusConnection, connectBus, PayloadTooLargeError, publish } from '@featx/bus';
import { encodeMessage, extractWorkItem, registerDatasetCommand } from '@featx/contracts';
import { TEST_NATS_URL, waitForCommand } from '@featx/testing';
import { startTestServices, TestServices, TEST_API_TOKEN } from '../support/test-services';

/**
 * Hostile bus messages against the real ingest service: each is rejected and recorded in
 * rejected_messages with its reason (never redelivered, never blocking), nothing else is written,
 * and the commands behind them still run. Assertions are on Postgres rows, not logs.
 */
describe('hostile bus messages', () => {
  let dataRoot: string;
  let services: TestServices;
  let db: Client;
  let bus: BusConnection;

  beforeAll(async () => {
    dataRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-hostile-bus-')));
    for (const split of ['training', 'evaluation']) {
      for (const label of ['a', 'b']) {
        await fs.mkdir(path.join(dataRoot, 'ok', split, label), { recursive: true });
        await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).jpeg().toFile(path.join(dataRoot, 'ok', split, label, '1.jpg'));
      }
    }
    services = await startTestServices({ dataRoots: `data=${dataRoot}`, workers: ['ingest'] });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    bus = await connectBus({ url: TEST_NATS_URL, name: 'hostile-bus-test', namespace: services.namespace });
  });

  afterAll(async () => {
    await bus?.nc.close();
    await db?.end();
    await services?.close();
    await fs.rm(dataRoot, { recursive: true, force: true });
  });

  const count = async (table: string) => (await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;

  async function rejectionOf(seq: number, consumer: string) {
    for (let i = 0; i < 200; i++) {
      const { rows } = await db.query('SELECT kind, reason, subject, delivery_count, consumer FROM rejected_messages WHERE stream_sequence = $1 AND consumer = $2', [seq, consumer]);
      if (rows[0]) return rows[0];
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no rejection recorded for sequence ${seq} (${consumer})`);
  }

  const cases: Array<{ what: string; subject: (b: BusConnection) => string; data: Uint8Array; consumer: string; kind: string; reason: RegExp }> = [
    { what: 'garbage bytes', subject: (b) => b.names.subjects.registerDataset, data: Uint8Array.from([0xc1, 0xff, 0x00, 0x13, 0x37, 0xde, 0xad]), consumer: 'ingest-datasets-register', kind: 'decode', reason: /datasets\.register: / },
    { what: 'valid msgpack of the wrong shape', subject: (b) => b.names.subjects.registerDataset, data: encodeMessage({ v: 1, path: 42, layout: 'sideways', extra: true }), consumer: 'ingest-datasets-register', kind: 'validation', reason: /path|layout/ },
    { what: 'a msgpack array, not a map', subject: (b) => b.names.subjects.registerDataset, data: encodeMessage([1, 2, 3]), consumer: 'ingest-datasets-register', kind: 'validation', reason: /datasets\.register/ },
    { what: 'an unknown version', subject: (b) => b.names.subjects.registerDataset, data: encodeMessage({ v: 99, path: 'ok' }), consumer: 'ingest-datasets-register', kind: 'validation', reason: /unsupported version 99/ },
    { what: 'truncated JSON', subject: (b) => b.names.subjects.registerDataset, data: new TextEncoder().encode('{"v":1,"path":"o'), consumer: 'ingest-datasets-register', kind: 'decode', reason: /datasets\.register/ },
    { what: 'an unknown command subject', subject: (b) => `${b.names.namespace}.cmd.datasets.delete`, data: encodeMessage({ v: 1, id: randomUUID() }), consumer: 'ingest-unknown-commands', kind: 'unknown-subject', reason: /no featx service handles commands on .*\.cmd\.datasets\.delete/ },
    { what: 'an unknown command subject (deeper)', subject: (b) => `${b.names.namespace}.cmd.runs.pause.now`, data: new TextEncoder().encode('{"v":1}'), consumer: 'ingest-unknown-commands', kind: 'unknown-subject', reason: /runs\.pause\.now/ },
  ];

  for (const c of cases) {
    it(`rejects ${c.what}: recorded with its reason, terminated, nothing else written`, async () => {
      const before = { commands: await count('commands'), datasets: await count('datasets') };
      const ack = await bus.js.publish(c.subject(bus), c.data);
      const rejection = await rejectionOf(ack.seq, c.consumer);
      expect(rejection).toMatchObject({ kind: c.kind, subject: c.subject(bus), delivery_count: 1 });
      expect(rejection.reason).toMatch(c.reason);
      expect({ commands: await count('commands'), datasets: await count('datasets') }).toEqual(before);
    });
  }

  it('acks known commands in the catch-all consumer without recording them, and runs them', async () => {
    const id = randomUUID();
    const ack = await publish(bus, registerDatasetCommand, { v: 1, id, path: path.join(dataRoot, 'ok'), layout: 'auto', seed: 42 });
    expect(await waitForCommand(db, id)).toMatchObject({ status: 'succeeded' });
    for (let i = 0; i < 100; i++) {
      const info = await bus.jsm.consumers.info(bus.names.streams.commands, 'ingest-unknown-commands');
      if (info.ack_floor.stream_seq >= ack.seq) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const info = await bus.jsm.consumers.info(bus.names.streams.commands, 'ingest-unknown-commands');
    expect(info.ack_floor.stream_seq).toBeGreaterThanOrEqual(ack.seq);
    expect((await db.query('SELECT count(*)::int AS n FROM rejected_messages WHERE stream_sequence = $1', [ack.seq])).rows[0].n).toBe(0);
  });

  it('counts every rejection in GET /rejected-messages, and no consumer holds any of them', async () => {
    const response = await fetch(`${services.apiUrl}/rejected-messages`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } });
    expect(response.status).toBe(200);
    const body: any = await response.json();
    const list = Array.isArray(body) ? body : (body.items ?? body.rejectedMessages ?? body.messages);
    expect(list).toHaveLength(cases.length);
    for (const durable of ['ingest-datasets-register', 'ingest-unknown-commands']) {
      const info = await bus.jsm.consumers.info(bus.names.streams.commands, durable);
      expect({ durable, pending: info.num_pending, inFlight: info.num_ack_pending }).toEqual({ durable, pending: 0, inFlight: 0 });
    }
  });

  it('refuses at publish a message larger than max_payload (PayloadTooLargeError), and nothing is written', async () => {
    const streamBefore = (await bus.jsm.streams.info(bus.names.streams.work)).state.messages;
    const longPath = 'x/'.repeat(2500);
    const items = Array.from({ length: 256 }, (_, i) => ({ imageId: i + 1, root: 'data', path: `${longPath}${i}.jpg`, label: 0, split: 'training' as const }));
    const error = await publish(bus, extractWorkItem, { v: 1, featureSetId: randomUUID(), workId: 'too-large', items }).catch((e) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.message).toMatch(/over the server's max_payload of \d+ bytes/);
    expect((await bus.jsm.streams.info(bus.names.streams.work)).state.messages).toBe(streamBefore);
    // And a raw publish past the server's limit is refused by the server itself.
    const raw = await bus.js.publish(bus.names.subjects.registerDataset, new Uint8Array(bus.maxPayload + 1)).catch((e) => e);
    expect(raw).toBeInstanceOf(Error);
    expect(await count('rejected_messages')).toBe(cases.length);
  });
});
