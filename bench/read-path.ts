/**
 * `npm run bench:read`: the trainer's read path alone, on a synthetic float16 feature set (2,048
 * rows of 100,352 values, flattened ResNet-50: 411 MB on disk) written through ShardWriter with
 * its Postgres rows, served by a feature-store process (as deployed: its own event loop). One epoch = every row streamed into
 * batches of 32 by `streamSplit`, as the trainer does (shuffled, default shuffle buffer), from:
 *
 * - bus, a nats-server of the bench's own with the default max_payload (1 MiB), at several read-ahead sizes;
 * - bus, one with max_payload 8 MB;
 * - direct, the shard files (FEATX_TRAINER_READ=direct; warm page cache).
 *
 * Reports rows/s, MB/s of float32 delivered and of stored bytes moved (on the wire for the bus),
 * over several runs; plus the float16 decode alone (paired vs one-at-a-time table lookups).
 * Each NATS server gets a child process of its own (its own test database and bus namespace).
 *
 *   node -r ./tools/register.js bench/read-path.ts     BENCH_READ_ROWS, BENCH_READ_DIM, BENCH_READ_RUNS, BENCH_READ_ONLY
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { BusClient, connectBus } from '@featx/bus';
import { fromFloat16, shardPath, ShardWriter, toFloat16, useFloat16Decoder } from '@featx/features';
import { createTestDatabase } from '../test/support/test-database';
import { createTestBus, testNamespace } from '../test/support/test-bus';
import { launchServices } from '../tools/service-launcher';
import { freePort } from '../test/support/free-ports';
import { natsServerEnv } from '../tools/nats-server-env';
import { BenchNats, startBenchNats } from './bench-nats';
import { DEFAULT_READ_AHEAD_BYTES, streamSplit } from '../apps/trainer/src/data/feature-stream';
import { ShardFilesReader } from '../apps/trainer/src/data/shard-files.reader';
import { ShardRef, ShardRowSource, ShardRowsClient } from '@featx/shard-reads';
import { writeBenchJson } from './bench-json';
import { cpuSeconds, peakRssMiB } from './proc-stats';
import { registerNativeFloat16Decoder } from '@featx/learning';

const DIM = Number(process.env.BENCH_READ_DIM ?? 100352);
const ROWS = Number(process.env.BENCH_READ_ROWS ?? 2048);
const RUNS = Number(process.env.BENCH_READ_RUNS ?? 3);
const SHARDS = 2;
const STORE_ID = 'bench-store';
const LARGE_MAX_PAYLOAD = 8 * 1024 * 1024;
const MiB = 1024 * 1024;

export interface ReadPathMeasurement {
  source: string;
  maxPayload: number;
  readAheadMiB: number;
  /** Rows per chunk (one reply over the bus). */
  chunkRows: number;
  rowsPerSecond: number[];
  /** MB/s (10^6 bytes) of float32 values delivered in batches. */
  float32MBps: number[];
  /** MB/s of stored bytes moved: float16 on the wire over the bus, read from the files directly. */
  storedMBps: number[];
  peakRssMiB: number;
  /**
   * CPU seconds per GB of stored bytes moved (float16 on the wire), per process, medians over the
   * runs: what bounds the bus on a machine whose cores all three processes share.
   */
  cpuSecondsPerGB: { reader: number; store: number; nats: number };
}

/** The whole feature set, shards of float16 rows: ReLU-like values (about half zeros), seeded. */
async function writeShards(featuresDir: string): Promise<Array<{ path: string; rows: number }>> {
  let state = 12345;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const shards = [];
  const perShard = Math.ceil(ROWS / SHARDS);
  let imageId = 1;
  for (let index = 0; index < SHARDS; index++) {
    const rows = Math.min(perShard, ROWS - index * perShard);
    const relative = shardPath({ featureSetId: 'bench-set', split: 'training', storeId: STORE_ID, index });
    const writer = await ShardWriter.open(path.join(featuresDir, relative), { dim: DIM, dtype: 'float16' });
    for (let done = 0; done < rows; done += 64) {
      const count = Math.min(64, rows - done);
      const features = new Float32Array(count * DIM);
      for (let i = 0; i < features.length; i++) features[i] = Math.max(0, random() * 8 - 4);
      const ids = Array.from({ length: count }, () => imageId++);
      await writer.append({ features, labels: ids.map((id) => id % 10), imageIds: ids });
    }
    await writer.close();
    shards.push({ path: relative, rows });
  }
  return shards;
}

/** One shuffled epoch of every row, as the trainer streams it; returns its seconds. */
async function epoch(source: ShardRowSource, shards: ShardRef[], chunkRows: number, readAheadBytes: number, seed: number): Promise<number> {
  const started = performance.now();
  let rows = 0;
  for await (const batch of streamSplit(source, shards, { dim: DIM, dtype: 'float16', chunkRows, readAheadBytes, batchRows: 32, order: 'shuffled', seed, epoch: 0 })) rows += batch.rows;
  if (rows !== ROWS) throw new Error(`an epoch streamed ${rows} rows, not ${ROWS}`);
  return (performance.now() - started) / 1000;
}

/** Child: a feature store on `natsUrl` serving the shards in `featuresDir`; measures bus (and direct) reads. */
async function measureOn(natsUrl: string, natsPid: number, featuresDir: string, layout: Array<{ path: string; rows: number }>, withDirect: boolean, readAheads: number[]): Promise<ReadPathMeasurement[]> {
  // The store in a process of its own, as deployed: the reader, the store and nats-server each
  // get the cores the machine gives them, instead of the store sharing the reader's event loop.
  const database = await createTestDatabase();
  const namespace = testNamespace();
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-bench-read-'));
  const store = launchServices(
    [{ service: 'feature-store', label: 'feature-store', port: await freePort() }],
    { ...process.env, FEATX_NATS_URL: natsUrl, FEATX_DATABASE_URL: database.url, FEATX_NAMESPACE: namespace, FEATX_DATA_ROOTS: `bench=${featuresDir}`, FEATX_STATE_DIR: stateDir, FEATX_FEATURES_DIR: featuresDir, FEATX_STORE_ID: STORE_ID, FEATX_LOG_LEVEL: 'error' },
    (line) => process.stderr.write(`${line}\n`),
    'sources',
  );
  await Promise.race([store.ready(), store.exited.then((exit) => Promise.reject(new Error(`the feature store exited before it was ready: ${JSON.stringify(exit)}`)))]);
  const db = new Client({ connectionString: database.url });
  await db.connect();
  const bus = await connectBus({ url: natsUrl, name: 'bench-read-path', namespace });
  try {
    // The rows Postgres records: what the feature store serves and direct reads read.
    const { rows: [dataset] } = await db.query("INSERT INTO datasets (name, root, path, layout) VALUES ('bench', 'bench', 'bench', 'split-class') RETURNING id");
    const { rows: [set] } = await db.query("INSERT INTO feature_sets (dataset_id, model, pooling, dtype, spec, dim, status) VALUES ($1, 'synthetic', 'none', 'float16', '{}', $2, 'complete') RETURNING id", [dataset.id, DIM]);
    const shards: ShardRef[] = [];
    for (const [index, shard] of layout.entries()) {
      const { rows: [row] } = await db.query("INSERT INTO feature_shards (feature_set_id, split, index, path, rows, writer) VALUES ($1, 'training', $2, $3, $4, $5) RETURNING id", [set.id, index, shard.path, shard.rows, STORE_ID]);
      shards.push({ id: row.id, writer: STORE_ID, path: shard.path, rows: shard.rows });
    }
    const client = new ShardRowsClient(new BusClient(bus));
    const chunkRows = client.rowsPerRequest(DIM, 'float16');
    const cases: Array<{ source: string; open: () => ShardRowSource; readAhead: number }> = [
      ...readAheads.map((readAhead) => ({ source: 'bus', open: () => client, readAhead })),
      ...(withDirect ? [{ source: 'direct', open: () => new ShardFilesReader(featuresDir), readAhead: DEFAULT_READ_AHEAD_BYTES }] : []),
    ];
    const results: ReadPathMeasurement[] = [];
    for (const c of cases) {
      const source = c.open();
      await epoch(source, shards, chunkRows, c.readAhead, 99); // warm-up: page cache, JIT, reader opening
      const seconds: number[] = [];
      const cpu = { reader: [] as number[], store: [] as number[], nats: [] as number[] };
      const storePid = store.pids()['feature-store']!;
      const gigabytes = (ROWS * DIM * 2) / 1e9;
      for (let run = 0; run < RUNS; run++) {
        const before = { reader: process.cpuUsage(), store: cpuSeconds(storePid), nats: cpuSeconds(natsPid) };
        seconds.push(await epoch(source, shards, chunkRows, c.readAhead, run));
        const reader = process.cpuUsage(before.reader);
        cpu.reader.push((reader.user + reader.system) / 1e6 / gigabytes);
        // Direct reads touch neither the store nor NATS.
        cpu.store.push(c.source === 'bus' ? (cpuSeconds(storePid) - before.store) / gigabytes : 0);
        cpu.nats.push(c.source === 'bus' ? (cpuSeconds(natsPid) - before.nats) / gigabytes : 0);
      }
      await source.close();
      results.push({
        source: c.source,
        maxPayload: bus.maxPayload,
        readAheadMiB: c.readAhead / MiB,
        chunkRows,
        rowsPerSecond: seconds.map((s) => ROWS / s),
        float32MBps: seconds.map((s) => (ROWS * DIM * 4) / s / 1e6),
        storedMBps: seconds.map((s) => (ROWS * DIM * 2) / s / 1e6),
        peakRssMiB: peakRssMiB(process.pid),
        cpuSecondsPerGB: { reader: median(cpu.reader), store: median(cpu.store), nats: median(cpu.nats) },
      });
    }
    return results;
  } finally {
    await bus.nc.close();
    await db.end();
    await store.stop(5000);
    await (await createTestBus(namespace, natsUrl)).cleanup();
    await database.drop();
    await fs.rm(stateDir, { recursive: true, force: true });
  }
}

/** The float16 decode alone: fromFloat16 (pairs of halves per 32-bit load) vs one load per half. */
function measureDecode(): Array<{ decode: string; float32MBps: number }> {
  const values = Float32Array.from({ length: 32 * DIM }, (_, i) => Math.max(0, Math.sin(i * 12.9898) * 8 - 4));
  const halves = toFloat16(values);
  const out = new Float32Array(values.length);
  const table = new Uint32Array(fromFloat16(Uint16Array.from({ length: 0x10000 }, (_, i) => i)).buffer);
  const oneAtATime = (input: Uint16Array, into: Float32Array) => {
    const bits = new Uint32Array(into.buffer, into.byteOffset, into.length);
    for (let i = 0; i < input.length; i++) bits[i] = table[input[i]!]!;
  };
  const perRow = (decode: (input: Uint16Array, into: Float32Array) => unknown) => () => {
    for (let r = 0; r < 32; r++) decode(halves.subarray(r * DIM, (r + 1) * DIM), out.subarray(r * DIM, (r + 1) * DIM));
  };
  const time = (run: () => void) => {
    for (let i = 0; i < 5; i++) run();
    const started = performance.now();
    for (let i = 0; i < 20; i++) run();
    return (20 * values.length * 4) / ((performance.now() - started) / 1000) / 1e6;
  };
  const measured = [
    { decode: 'fromFloat16 (table, two halves per 32-bit load)', float32MBps: time(perRow(fromFloat16)) },
    { decode: 'table, one half per load (the previous fromFloat16)', float32MBps: time(perRow(oneAtATime)) },
  ];
  if (registerNativeFloat16Decoder()) {
    measured.unshift({ decode: 'fromFloat16 with the native decoder (F16C, featx_dense.node; what the trainer uses)', float32MBps: time(perRow(fromFloat16)) });
    useFloat16Decoder(undefined);
  }
  return measured;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const format = (values: number[]) => `${Math.round(median(values)).toLocaleString('en-US')} (${values.map((v) => Math.round(v)).join(', ')})`;

async function main(): Promise<void> {
  const childIndex = process.argv.indexOf('--child');
  if (childIndex >= 0) {
    // The decode the trainer uses (its main.ts registers it too).
    registerNativeFloat16Decoder();
    const job = JSON.parse(process.argv[childIndex + 1]!) as { natsUrl: string; natsPid: number; featuresDir: string; layout: Array<{ path: string; rows: number }>; withDirect: boolean; readAheads: number[] };
    process.stdout.write(`${JSON.stringify(await measureOn(job.natsUrl, job.natsPid, job.featuresDir, job.layout, job.withDirect, job.readAheads))}\n`);
    return;
  }

  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-read-bench-')));
  const natsDir = path.join(root, 'nats');
  await fs.mkdir(natsDir);
  const servers: Array<BenchNats> = [];
  try {
    const featuresDir = path.join(root, 'features');
    const layout = await writeShards(featuresDir);
    // BENCH_READ_ONLY=bus,direct,large runs a part (bus: default 1 MiB max_payload; large: 8 MB);
    // BENCH_READ_AHEAD_MB=16 measures the bus at those read-aheads only.
    const only = new Set((process.env.BENCH_READ_ONLY ?? 'bus,direct,large').split(',').map((part) => part.trim()));
    const readAheads = (process.env.BENCH_READ_AHEAD_MB ?? '1,4,8,16,64').split(',').map((mb) => Number(mb) * MiB);
    const jobs = [];
    if (only.has('bus') || only.has('direct')) {
      const nats = await startBenchNats(natsDir);
      servers.push(nats);
      jobs.push({ natsUrl: nats.url, natsPid: nats.pid, withDirect: only.has('direct'), readAheads: only.has('bus') ? readAheads : [] });
    }
    if (only.has('large')) {
      const nats = await startBenchNats(natsDir, LARGE_MAX_PAYLOAD);
      servers.push(nats);
      jobs.push({ natsUrl: nats.url, natsPid: nats.pid, withDirect: false, readAheads: readAheads.filter((bytes) => bytes >= DEFAULT_READ_AHEAD_BYTES) });
    }
    const results: ReadPathMeasurement[] = [];
    const register = path.join(__dirname, '..', 'tools', 'register.js');
    for (const job of jobs) {
      const { stdout } = await promisify(execFile)(process.execPath, ['-r', register, __filename, '--child', JSON.stringify({ ...job, featuresDir, layout })], {
        maxBuffer: 1 << 20,
        // The test helpers' own bus connections go to the same server.
        env: { ...process.env, FEATX_TEST_NATS_URL: job.natsUrl },
      });
      results.push(...(JSON.parse(stdout.trim().split('\n').pop()!) as ReadPathMeasurement[]));
    }

    console.log(`read path: ${ROWS.toLocaleString('en-US')} float16 rows of ${DIM.toLocaleString('en-US')} values in ${SHARDS} shards, shuffled epochs in batches of 32; median of ${RUNS} runs (each run) at each read-ahead (default ${DEFAULT_READ_AHEAD_BYTES / MiB} MiB); nats-server at GOGC=${natsServerEnv().GOGC}; ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}`);
    console.log('');
    console.log('| source | NATS max_payload | rows per reply | read-ahead (MiB) | rows/s | MB/s float32 delivered | MB/s stored bytes (bus: on the wire) | CPU s per GB stored: reader / store / nats-server = total | peak RSS (MiB) |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of results) {
      const payload = r.source === 'direct' ? `(chunks as at ${(r.maxPayload / MiB).toFixed(0)} MiB)` : `${(r.maxPayload / MiB).toFixed(0)} MiB`;
      const { reader, store, nats } = r.cpuSecondsPerGB;
      const cpu = `${reader.toFixed(2)} / ${store.toFixed(2)} / ${nats.toFixed(2)} = ${(reader + store + nats).toFixed(2)}`;
      console.log(`| ${r.source} | ${payload} | ${r.chunkRows} | ${r.readAheadMiB} | ${format(r.rowsPerSecond)} | ${format(r.float32MBps)} | ${format(r.storedMBps)} | ${cpu} | ${r.peakRssMiB} |`);
    }
    console.log('');
    console.log(`(CPU per GB bounds the bus where the reader, the store and nats-server share the cores: ${os.cpus().length} cores / total CPU s per GB = the GB/s of float16 it can move.)`);
    console.log('');
    console.log('| float16 decode (32 rows at a time, one row per call) | MB/s float32 out |');
    console.log('|---|---|');
    for (const d of measureDecode()) console.log(`| ${d.decode} | ${Math.round(d.float32MBps).toLocaleString('en-US')} |`);
    writeBenchJson({ rows: ROWS, dim: DIM, measurements: results });
  } finally {
    for (const nats of servers) await nats.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
