/**
 * `npm run bench:scale -- <N>`: the cost per image of each stage at N images, to compare 10k, 100k
 * and 1M. Each stage runs on its own database (migrated, then dropped) and bus namespace:
 *   generate  N real image files (bench/scale-images.ts), drawn once into .featx/bench-scale and reused;
 *   ingest    the ingest service registers them: files/s, peak RSS; then a re-scan of the unchanged tree;
 *   extract   feature-store + 2 extractors (MobileNetV2, onnx, avg pooling, float16): img/s around 10%,
 *             50% and 90% done, every service's RSS along the way;
 *   vectors   N synthetic vectors (1,280 float16 values, 64 per batch) published on the real bus into
 *             the real feature store (no network): vectors/s, CPU per 1,000 vectors of each process on
 *             the path, peak RSS, shards, fdatasync calls (strace);
 *   train     one epoch of the trainer (MLP) over those N vectors, read from a feature-store process
 *             over the bus: rows/s, CPU per 1,000 rows, peak RSS (needs vectors in the same run);
 *   postgres  rows and bytes per table and index, bytes per row, EXPLAIN ANALYZE of the hot queries
 *             at N rows (images, vectors, failures, commands, rejected messages, runs: synthetic rows);
 *   lists     the API's list endpoints over those N-row tables: first, middle and last page, ms.
 * BENCH_SCALE_DISTINCT=100000 draws only that many files and makes the other N - 100000 hard links to
 * them (ingest at 1M here: 1M drawn files would take ~1.5 h and ~27 GB).
 * BENCH_SCALE_ONLY=vectors,train,postgres,lists picks stages (they share one database);
 * results go to .featx/bench-scale/results-<N>.json and, when named, BENCH_JSON.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, promises as fs, readFileSync, statfsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { BusConnection, connectBus, publish } from '@featx/bus';
import { extractFeaturesCommand, featureBatch, registerDatasetCommand } from '@featx/contracts';
import { encodeCursor } from '@featx/db';
import { REPO_ROOT } from '@featx/runtime';
import { createTestBus, createTestDatabase, SHARED_DIR, testNamespace, TestDatabase } from '../test/support';
import { launchServices, LaunchedServices, serviceInstances } from '../tools/service-launcher';
import { writeBenchJson } from './bench-json';
import { benchTrainerRun } from './trainer-run';
import { runBenchMain } from './bench-main';
import { busyShare, cpuSeconds, cpuSecondsBetween, cpuSecondsByPid, loadLine, machineTicks, peakRssMiB, processesNamed, rssMiB } from './proc-stats';
import { generateScaleImages, linkScaleImages, SCALE_CLASSES } from './scale-images';

const STAGES = ['generate', 'ingest', 'extract', 'vectors', 'train', 'postgres', 'lists'] as const;
type Stage = (typeof STAGES)[number];
const CACHE = process.env.BENCH_SCALE_CACHE ?? path.join(REPO_ROOT, '.featx/bench-scale');
const MOBILENET = path.join(SHARED_DIR, 'models/mobilenet_v2_1.0_224');
const DIM = 1280;
const VECTORS_PER_BATCH = 64;
/** Batches published and not yet acknowledged by the stream. */
const PUBLISH_WINDOW = 32;
const API_TOKEN = 'bench-scale-token-0123456789';
/** The feature store the vectors stage writes through, and the train stage reads from. */
const VECTORS_STORE_ID = 'bench-store';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Results = Record<string, unknown>;

function parseArguments(): { count: number; stages: Set<Stage> } {
  const raw = process.argv[2] ?? process.env.BENCH_SCALE_N ?? '10000';
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1000) throw new Error(`N: "${raw}" is not a whole number of images, at least 1000 (npm run bench:scale -- 100000)`);
  const asked = (process.env.BENCH_SCALE_ONLY ?? STAGES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = asked.filter((s) => !(STAGES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`BENCH_SCALE_ONLY: unknown stage(s) ${unknown.join(', ')}; expected some of ${STAGES.join(', ')}`);
  if (asked.includes('train') && !asked.includes('vectors')) throw new Error('BENCH_SCALE_ONLY: train needs vectors too (it trains on the vectors that stage stores)');
  return { count, stages: new Set(asked as Stage[]) };
}

/** One stage's own database and bus namespace, and the services' environment for them. */
interface StageStack {
  database: TestDatabase;
  db: Client;
  namespace: string;
  bus: BusConnection;
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

async function openStack(name: string): Promise<StageStack> {
  const database = await createTestDatabase();
  const namespace = testNamespace();
  const db = new Client({ connectionString: database.url });
  await db.connect();
  const bus = await connectBus({ url: process.env.FEATX_NATS_URL ?? 'nats://127.0.0.1:4222', name: `bench-scale-${name}`, namespace });
  const featuresDir = path.join(CACHE, `features-${namespace}`);
  const env = {
    ...process.env,
    FEATX_DATABASE_URL: database.url,
    FEATX_NAMESPACE: namespace,
    FEATX_DATA_ROOTS: `bench=${CACHE},shared=${SHARED_DIR}`,
    FEATX_FEATURES_DIR: featuresDir,
    FEATX_ARTIFACTS_DIR: path.join(CACHE, `artifacts-${namespace}`),
    FEATX_ONNX_CACHE_DIR: path.join(CACHE, 'onnx-cache'),
    FEATX_TF_BACKEND: 'wasm',
    FEATX_API_TOKEN: API_TOKEN,
    FEATX_LOG_LEVEL: 'warn',
  };
  return {
    database,
    db,
    namespace,
    bus,
    env,
    async close() {
      await bus.nc.close();
      await db.end();
      await database.drop();
      await (await createTestBus(namespace)).cleanup();
      await fs.rm(featuresDir, { recursive: true, force: true });
      await fs.rm(env.FEATX_ARTIFACTS_DIR, { recursive: true, force: true });
    },
  };
}

function startServices(stack: StageStack, names: string[], extractors = 1, env: NodeJS.ProcessEnv = {}): LaunchedServices {
  const instances = serviceInstances(extractors, 900).filter((i) => names.includes(i.service));
  return launchServices(instances, { ...stack.env, ...env }, (line) => /"level":"(error|fatal)"/.test(line) && console.error(line));
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;

async function generate(count: number): Promise<string> {
  await fs.mkdir(CACHE, { recursive: true });
  const distinct = Number(process.env.BENCH_SCALE_DISTINCT ?? count);
  if (distinct < count) {
    const linked = await linkScaleImages(CACHE, count, distinct, (done, total) => console.log(`  linked ${done}/${total}`));
    console.log(`generate: ${count} files, hard links to ${distinct} drawn ones, in ${linked.folder}`);
    return linked.folder;
  }
  const probe = await generateScaleImages(path.join(CACHE, 'probe'), 200, () => undefined);
  const free = statfsSync(CACHE);
  const freeBytes = free.bavail * free.bsize;
  const bytesPerImage = probe.bytes / probe.images;
  if (probe.seconds > 0) {
    const seconds = (count * probe.seconds) / probe.images;
    console.log(`generate: ${count} images would take ~${(seconds / 60).toFixed(0)} min and ~${mib(count * bytesPerImage)} (${(probe.images / probe.seconds).toFixed(0)} img/s, ${(bytesPerImage / 1024).toFixed(1)} KiB each); ${mib(freeBytes)} free`);
  }
  const folder = path.join(CACHE, `images-${count}`);
  if (!existsSync(path.join(folder, '.complete')) && count * bytesPerImage * 1.2 > freeBytes) {
    throw new Error(`generate: ${count} images need ~${mib(count * bytesPerImage)}, only ${mib(freeBytes)} free under ${CACHE}`);
  }
  const started = Date.now();
  const generated = await generateScaleImages(CACHE, count, (done, total, rate) => console.log(`  generated ${done}/${total} (${rate.toFixed(0)} img/s, ${((total - done) / rate / 60).toFixed(1)} min left)`));
  console.log(`generate: ${generated.images} files, ${mib(generated.bytes)} in ${generated.folder}${generated.seconds > 0 ? ` (drawn in ${((Date.now() - started) / 1000).toFixed(0)} s)` : ' (cached)'}`);
  return generated.folder;
}

/** Publishes datasets.register for `folder` and waits for its command to finish: its result. */
async function register(stack: StageStack, folder: string): Promise<Record<string, number>> {
  const id = randomUUID();
  await publish(stack.bus, registerDatasetCommand, { v: 1, id, path: folder, layout: 'split-class', seed: 42 });
  let lastReport = Date.now();
  for (;;) {
    const { rows } = await stack.db.query('SELECT status, result, error FROM commands WHERE id = $1', [id]);
    if (rows[0]?.status === 'succeeded') return rows[0].result;
    if (rows[0]?.status === 'failed' || rows[0]?.status === 'rejected') throw new Error(`datasets.register: ${rows[0].error}`);
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      const { rows: counted } = await stack.db.query('SELECT count(*)::int AS n FROM images');
      console.log(`  ingest: ${counted[0].n} images recorded`);
    }
    await sleep(250);
  }
}

async function ingest(count: number, folder: string, results: Results): Promise<void> {
  const stack = await openStack('ingest');
  const services = startServices(stack, ['ingest']);
  try {
    await services.ready(120000);
    const pid = services.pids().ingest!;
    const ticks = machineTicks();
    const first = await register(stack, folder);
    const busy = busyShare(ticks, machineTicks());
    const peakFirst = peakRssMiB(pid);
    const rescanStarted = Date.now();
    const again = await register(stack, folder);
    const rescanSeconds = (Date.now() - rescanStarted) / 1000;
    const figures = {
      images: first.images,
      seconds: first.durationMs / 1000,
      filesPerSecond: first.filesPerSecond,
      peakRssMiB: peakFirst,
      rescanSeconds,
      rescanFilesPerSecond: Math.round(again.images / rescanSeconds),
      rescanUnchanged: again.unchanged,
      rescanPeakRssMiB: peakRssMiB(pid),
      machineBusy: Number(busy.toFixed(2)),
    };
    console.log(`ingest: ${figures.images} files in ${figures.seconds.toFixed(1)} s = ${figures.filesPerSecond} files/s, peak RSS ${figures.peakRssMiB} MiB (machine ${(busy * 100).toFixed(0)}% busy); ` + `re-scan ${rescanSeconds.toFixed(1)} s (${figures.rescanFilesPerSecond} files/s, ${again.unchanged} unchanged), peak RSS ${figures.rescanPeakRssMiB} MiB`);
    if (figures.images !== count) throw new Error(`ingest: registered ${figures.images} images, expected ${count}`);
    results.ingest = figures;
  } finally {
    await services.stop(10000);
    await stack.close();
  }
}

async function extract(count: number, folder: string, results: Results): Promise<void> {
  const stack = await openStack('extract');
  const services = startServices(stack, ['ingest', 'feature-store', 'extractor'], 2, { FEATX_ONNX_THREADS: '1' });
  try {
    await services.ready(180000);
    await register(stack, folder);
    const datasetId = (await stack.db.query('SELECT id FROM datasets')).rows[0].id;
    await publish(stack.bus, extractFeaturesCommand, { v: 1, datasetId, model: MOBILENET, pooling: 'avg', dtype: 'float16', engine: 'onnx', batchSize: 64 });
    const samples: Array<{ at: number; done: number }> = [];
    const rssPeaks: Record<string, number> = {};
    const rssAt: Record<string, Record<string, number>> = {};
    const marks = [0.1, 0.5, 0.9];
    const ticks = machineTicks();
    let lastReport = 0;
    for (;;) {
      const set = (await stack.db.query('SELECT stored, failed, images, status, error FROM feature_sets')).rows[0];
      if (set?.status === 'failed') throw new Error(`extract: ${set.error}`);
      const done = set ? set.stored + set.failed : 0;
      samples.push({ at: Date.now(), done });
      for (const [label, pid] of Object.entries(services.pids())) rssPeaks[label] = Math.max(rssPeaks[label] ?? 0, rssMiB(pid));
      for (const mark of marks) {
        if (done >= mark * count && !rssAt[mark]) rssAt[mark] = Object.fromEntries(Object.entries(services.pids()).map(([label, pid]) => [label, rssMiB(pid)]));
      }
      if (Date.now() - lastReport > 10000) {
        lastReport = Date.now();
        console.log(`  extract: ${done}/${count}`);
      }
      if (set?.status === 'complete') break;
      await sleep(500);
    }
    // The rate over the 10% of the set around each mark.
    const rateAround = (mark: number) => {
      const from = samples.find((s) => s.done >= (mark - 0.05) * count)!;
      const to = samples.find((s) => s.done >= (mark + 0.05) * count) ?? samples[samples.length - 1]!;
      return ((to.done - from.done) * 1000) / Math.max(1, to.at - from.at);
    };
    const rates = Object.fromEntries(marks.map((m) => [`${m * 100}%`, Number(rateAround(m).toFixed(1))]));
    const peaks = Object.fromEntries(Object.entries(services.pids()).map(([label, pid]) => [label, peakRssMiB(pid)]));
    const busy = busyShare(ticks, machineTicks());
    results.extract = { imagesPerSecond: rates, ratio90to10: Number((rates['90%']! / rates['10%']!).toFixed(2)), peakRssMiB: peaks, rssAtMarksMiB: rssAt, machineBusy: Number(busy.toFixed(2)) };
    console.log(`extract: img/s at 10% ${rates['10%']}, 50% ${rates['50%']}, 90% ${rates['90%']} (90/10 = ${(rates['90%']! / rates['10%']!).toFixed(2)}); peak RSS MiB ${JSON.stringify(peaks)}; RSS at the marks ${JSON.stringify(rssAt)} (machine ${(busy * 100).toFixed(0)}% busy)`);
  } finally {
    await services.stop(10000);
    await stack.close();
  }
}

/**
 * N image rows of one synthetic dataset, inserted by Postgres in chunks, in the order ingest records
 * a split/class tree: the training split's images first (80%), then validation, then evaluation.
 */
async function insertSyntheticImages(db: Client, count: number): Promise<string> {
  const { rows } = await db.query("INSERT INTO datasets (name, root, path, layout, classes, status, image_count) VALUES ('synthetic', 'bench', 'synthetic', 'split-class', $1, 'ready', $2) RETURNING id", [JSON.stringify(SCALE_CLASSES), count]);
  const datasetId = rows[0].id as string;
  const chunk = 200000;
  for (let start = 0; start < count; start += chunk) {
    await db.query(
      `INSERT INTO images (dataset_id, split, label, path, bytes, sha256, mtime_ms)
       SELECT $1, CASE WHEN i < $4::int * 8 / 10 THEN 'training' WHEN i < $4::int * 9 / 10 THEN 'validation' ELSE 'evaluation' END,
              'c' || (i % 10), 'synthetic/img-' || lpad(i::text, 7, '0') || '.jpg', 20000 + i % 50000, md5(i::text) || md5((i + 1)::text), 1764633600000
       FROM generate_series($2::int, $3::int) AS i`,
      [datasetId, start, Math.min(count, start + chunk) - 1, count],
    );
    console.log(`  synthetic images: ${Math.min(count, start + chunk)}/${count}`);
  }
  return datasetId;
}

/** The feature store under strace (fdatasync and fsync counted, each traced call only: seccomp-bpf). */
function startTracedFeatureStore(stack: StageStack, traceFile: string): { pid: () => number | undefined; stop: () => Promise<void> } {
  // BENCH_SCALE_STORE_PROFILE=<dir>: the store writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_SCALE_STORE_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SCALE_STORE_PROFILE}`] : [];
  const node = [process.execPath, ...profile, '-r', path.join(REPO_ROOT, 'tools/register.js'), path.join(REPO_ROOT, 'apps/feature-store/src/main.ts')];
  const child = spawn('strace', ['-f', '--seccomp-bpf', '-qq', '-c', '-e', 'trace=fdatasync,fsync', '-o', traceFile, ...node], {
    env: { ...stack.env, FEATX_HTTP_PORT: '3902', FEATX_STORE_ID: VECTORS_STORE_ID },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => /error|fatal/i.test(d.toString()) && process.stderr.write(d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const nodePid = () => {
    try {
      return Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0]) || undefined;
    } catch {
      return undefined;
    }
  };
  return {
    pid: nodePid,
    async stop() {
      const pid = nodePid();
      if (pid) process.kill(pid, 'SIGTERM');
      await Promise.race([exited, sleep(15000)]);
    },
  };
}

/** The split of the i-th synthetic image (see insertSyntheticImages). */
function splitAt(i: number, count: number): 'training' | 'validation' | 'evaluation' {
  return i < Math.floor((count * 8) / 10) ? 'training' : i < Math.floor((count * 9) / 10) ? 'validation' : 'evaluation';
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await sleep(250);
  }
  throw new Error(`${url} did not answer in ${timeoutMs} ms`);
}

/** Stores N synthetic vectors through the real feature store and measures it; the feature set's id. */
async function vectors(count: number, stack: StageStack, results: Results): Promise<string> {
  const datasetId = await insertSyntheticImages(stack.db, count);
  const { rows: sets } = await stack.db.query("INSERT INTO feature_sets (dataset_id, model, pooling, dtype, spec, images) VALUES ($1, 'synthetic', 'avg', 'float16', '{}', $2) RETURNING id", [datasetId, count]);
  const featureSetId = sets[0].id as string;
  const traceFile = path.join(CACHE, `fdatasync-${stack.namespace}.txt`);
  const store = startTracedFeatureStore(stack, traceFile);
  try {
    await waitReady('http://127.0.0.1:3902/health/ready', 120000);
    // One float16 block reused for every batch: values in [0, 1), content is not what is measured.
    const values = Uint16Array.from({ length: VECTORS_PER_BATCH * DIM }, () => 0x3000 + Math.floor(Math.random() * 0x0c00));
    const bytes = Buffer.from(values.buffer); // msgpack bin, as the extractors send them
    const batchSize = VECTORS_PER_BATCH;
    let nextImage = 0;
    const firstId = Number((await stack.db.query('SELECT min(id) AS id FROM images WHERE dataset_id = $1', [datasetId])).rows[0].id);
    const ticks = machineTicks();
    const storeCpuAtStart = cpuSeconds(store.pid()!);
    const cpuAtStart = await pathCpu(stack.db);
    const loadAtStart = loadLine();
    const started = Date.now();
    const inFlight = new Set<Promise<unknown>>();
    let published = 0;
    const publishing = (async () => {
      for (let batch = 0; nextImage < count; batch++) {
        const rows = Math.min(batchSize, count - nextImage);
        const ids = Array.from({ length: rows }, (_, i) => firstId + nextImage + i);
        const entries = ids.map((_, i) => ({ label: SCALE_CLASSES[(nextImage + i) % SCALE_CLASSES.length]!, split: splitAt(nextImage + i, count) }));
        nextImage += rows;
        const message = {
          v: 1 as const,
          featureSetId,
          workId: `bench-${batch}`,
          part: 0,
          dtype: 'float16' as const,
          dim: DIM,
          imageIds: ids,
          labels: entries.map((e) => SCALE_CLASSES.indexOf(e.label)),
          splits: entries.map((e) => e.split),
          vectors: rows === batchSize ? bytes : bytes.subarray(0, rows * DIM * 2),
          failures: [],
        };
        const sent = publish(stack.bus, featureBatch, message, { msgId: `${featureSetId}:${batch}` }).then(() => (published += rows));
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent));
        if (inFlight.size >= PUBLISH_WINDOW) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    })();
    const samples: Array<{ at: number; done: number }> = [];
    let rssPeak = 0;
    let lastReport = 0;
    let publishSeconds = 0;
    void publishing.then(() => (publishSeconds = (Date.now() - started) / 1000));
    for (;;) {
      const { stored } = (await stack.db.query('SELECT stored FROM feature_sets WHERE id = $1', [featureSetId])).rows[0];
      samples.push({ at: Date.now(), done: stored });
      const pid = store.pid();
      if (pid) rssPeak = Math.max(rssPeak, rssMiB(pid));
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        console.log(`  vectors: ${stored}/${count} stored, ${published} published`);
      }
      if (stored >= count) break;
      await sleep(250);
    }
    await publishing;
    const seconds = (Date.now() - started) / 1000;
    const from = samples.find((s) => s.done >= 0.1 * count)!;
    const to = samples.find((s) => s.done >= 0.9 * count)!;
    const steady = ((to.done - from.done) * 1000) / Math.max(1, to.at - from.at);
    const busy = busyShare(ticks, machineTicks());
    const pid = store.pid();
    const peak = pid ? peakRssMiB(pid) : rssPeak;
    // CPU the store spent per vector: what its rate would be with a core of its own on this shared machine.
    const storeCpuSeconds = pid ? cpuSeconds(pid) - storeCpuAtStart : NaN;
    const cpuAtEnd = await pathCpu(stack.db);
    const perThousand = (seconds: number) => Number(((seconds * 1e6) / count).toFixed(1));
    const cpuMsPer1000Vectors = {
      featureStore: perThousand(storeCpuSeconds),
      publisher: perThousand(cpuAtEnd.publisher - cpuAtStart.publisher),
      natsServer: perThousand(cpuSecondsBetween(cpuAtStart.nats, cpuAtEnd.nats)),
      postgresBackends: perThousand(cpuSecondsBetween(cpuAtStart.postgres, cpuAtEnd.postgres)),
    };
    const pathMs = Object.values(cpuMsPer1000Vectors).reduce((a, b) => a + b, 0);
    const { rows: shardRows } = await stack.db.query('SELECT count(*)::int AS shards, sum(bytes)::bigint AS bytes FROM feature_shards WHERE feature_set_id = $1', [featureSetId]);
    await store.stop();
    const trace = existsSync(traceFile) ? readFileSync(traceFile, 'utf8') : '';
    const syncs = [...trace.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fdatasync|fsync)\s*$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    const figures = {
      vectors: count,
      seconds,
      vectorsPerSecond: Math.round(count / seconds),
      steadyVectorsPerSecond: Math.round(steady),
      publishSeconds,
      peakRssMiB: peak,
      storeCpuMsPer1000Vectors: Number(((storeCpuSeconds * 1e6) / count).toFixed(1)),
      vectorsPerStoreCpuSecond: Math.round(count / storeCpuSeconds),
      cpuMsPer1000Vectors,
      // What the whole path's CPU allows on this machine's cores with nothing else running.
      vectorsPerSecondTheCoresAllow: Math.round((os.availableParallelism() * 1e6) / pathMs),
      loadAtStart,
      loadAtEnd: loadLine(),
      shards: shardRows[0].shards,
      shardBytes: Number(shardRows[0].bytes),
      fdatasyncCalls: syncs,
      fdatasyncPerBatch: Number((syncs / Math.ceil(count / batchSize)).toFixed(2)),
      machineBusy: Number(busy.toFixed(2)),
    };
    console.log(
      `vectors: ${count} in ${seconds.toFixed(1)} s = ${figures.vectorsPerSecond}/s (steady 10-90% ${figures.steadyVectorsPerSecond}/s; published in ${publishSeconds.toFixed(1)} s), ` +
        `CPU ms per 1,000 vectors ${JSON.stringify(cpuMsPer1000Vectors)} (the store ${figures.vectorsPerStoreCpuSecond} vectors per CPU second; the whole path's CPU allows ${figures.vectorsPerSecondTheCoresAllow}/s on ${os.availableParallelism()} cores), peak RSS ${peak} MiB, ${figures.shards} shards (${mib(figures.shardBytes)}), ${syncs} fdatasync/fsync calls (${figures.fdatasyncPerBatch} per ${batchSize}-vector batch) (machine ${(busy * 100).toFixed(0)}% busy; ${loadAtStart} at the start)`,
    );
    results.vectors = figures;
    return featureSetId;
  } finally {
    await store.stop();
    await fs.rm(traceFile, { force: true });
  }
}

/**
 * One epoch of the trainer over the set the vectors stage stored (N rows of 1,280 float16 values:
 * 80% training, 10% validation, 10% evaluation), its rows read from a feature-store process over the
 * bus as in a deployment: the trainer's rows/s, its CPU per 1,000 rows and peak RSS, to compare
 * at 100k and 1M (the trainer holds prefetched chunks and a shuffle buffer, never the set).
 */
async function train(count: number, stack: StageStack, featureSetId: string, results: Results): Promise<void> {
  const trainingRows = Math.floor((count * 8) / 10);
  const loadAtStart = loadLine();
  const ticks = machineTicks();
  const run = await benchTrainerRun(
    { featureSetId, namespace: stack.namespace, db: stack.db, env: { ...stack.env, FEATX_STORE_ID: VECTORS_STORE_ID } },
    { head: 'mlp', dropout: 0, optimizer: 'sgd', learningRate: 0.001, momentum: 0.9, epochs: 1, batchSize: 32, classWeights: false, standardize: false, normalize: 'none', seed: 42, shuffleBuffer: 2048 },
    {},
    trainingRows,
  );
  const figures = {
    trainingRows,
    epochRowsPerSecond: Math.round(run.bestEpochRowsPerSecond),
    wholeRunSeconds: Number(run.wallSeconds.toFixed(1)),
    trainerCpuMsPer1000Rows: Number(((run.cpuSeconds.trainer * 1e6) / trainingRows).toFixed(1)),
    featureStoreCpuMsPer1000Rows: Number(((run.cpuSeconds.featureStore * 1e6) / trainingRows).toFixed(1)),
    peakRssMiB: run.peakRssMiB,
    machineBusy: Number(busyShare(ticks, machineTicks()).toFixed(2)),
    loadAtStart,
    loadAtEnd: loadLine(),
  };
  console.log(
    `train: one epoch over ${trainingRows} training rows at ${figures.epochRowsPerSecond} rows/s (the whole run, validation, evaluation and report included: ${figures.wholeRunSeconds} s); ` +
      `CPU ms per 1,000 training rows: trainer ${figures.trainerCpuMsPer1000Rows}, feature-store ${figures.featureStoreCpuMsPer1000Rows}; peak RSS MiB trainer ${run.peakRssMiB.trainer}, feature-store ${run.peakRssMiB.featureStore} (machine ${(figures.machineBusy * 100).toFixed(0)}% busy; ${loadAtStart} at the start)`,
  );
  results.train = figures;
}

/**
 * CPU seconds so far of what the vector path runs on besides the store: this process (the
 * publisher), nats-server (shared with whatever else uses it) and the Postgres backends connected
 * to the stage's database (this process's own polling connection left out).
 */
async function pathCpu(db: Client): Promise<{ publisher: number; nats: Map<number, number>; postgres: Map<number, number> }> {
  const { rows } = await db.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  const usage = process.cpuUsage();
  return {
    publisher: (usage.user + usage.system) / 1e6,
    nats: cpuSecondsByPid(processesNamed('nats-server')),
    postgres: cpuSecondsByPid(rows.map((r) => Number(r.pid))),
  };
}

/** Fills the tables the lists read up to `count` rows each (images and vectors come from the vectors stage where it ran). */
async function fillLists(db: Client, count: number): Promise<{ datasetId: string; featureSetId: string; failureSetId: string }> {
  let set = (await db.query("SELECT id, dataset_id FROM feature_sets WHERE model = 'synthetic'")).rows[0];
  if (!set) {
    const datasetId = await insertSyntheticImages(db, count);
    set = (await db.query("INSERT INTO feature_sets (dataset_id, model, pooling, dtype, spec, images, stored, status) VALUES ($1, 'synthetic', 'avg', 'float16', '{}', $2, $2, 'complete') RETURNING id, dataset_id", [datasetId, count])).rows[0];
    const { rows: shard } = await db.query("INSERT INTO feature_shards (feature_set_id, split, index, path, writer) VALUES ($1, 'training', 0, 'x', 'bench-store') RETURNING id", [set.id]);
    await db.query('INSERT INTO feature_vectors (feature_set_id, image_id, shard_id, row) SELECT $1, id, $2, (row_number() OVER (ORDER BY id) - 1)::int FROM images WHERE dataset_id = $3', [set.id, shard[0].id, datasetId]);
    console.log(`  synthetic vectors: ${count}`);
  }
  const datasetId = set.dataset_id as string;
  const { rows: failureSet } = await db.query("INSERT INTO feature_sets (dataset_id, model, pooling, dtype, spec, images, failed, status) VALUES ($1, 'synthetic-failures', 'avg', 'float16', '{}', $2, $2, 'complete') RETURNING id", [datasetId, count]);
  await db.query("INSERT INTO feature_failures (feature_set_id, image_id, reason) SELECT $1, id, 'decode failed: synthetic failure of image ' || id FROM images WHERE dataset_id = $2", [failureSet[0].id, datasetId]);
  console.log(`  synthetic failures: ${count}`);
  await db.query(
    `INSERT INTO commands (id, type, payload, status, result, created_at, started_at, finished_at)
     SELECT gen_random_uuid()::text, 'datasets.register', jsonb_build_object('path', 'bench:folder-' || i, 'layout', 'split-class'), 'succeeded', jsonb_build_object('images', i),
            now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval
     FROM generate_series(1, $1) AS i`,
    [count],
  );
  console.log(`  synthetic commands: ${count}`);
  await db.query(
    `INSERT INTO rejected_messages (kind, stream, consumer, subject, stream_sequence, delivery_count, reason, payload)
     SELECT 'validation', 'FEATX_CMD', 'ingest', 'featx.cmd.datasets.register', i, 1, 'field "path": expected string, got number', decode(repeat('ab', 200), 'hex')
     FROM generate_series(1, $1) AS i`,
    [count],
  );
  console.log(`  synthetic rejected messages: ${count}`);
  await db.query(
    `INSERT INTO training_runs (feature_set_id, config, classes, status, epochs_done, created_at)
     SELECT $1, '{"head":"mlp","epochs":25,"batchSize":32,"learningRate":0.001}'::jsonb, $2::jsonb, 'succeeded', 25, now() - (i || ' seconds')::interval
     FROM generate_series(1, $3) AS i`,
    [set.id, JSON.stringify(SCALE_CLASSES), count],
  );
  console.log(`  synthetic runs: ${count}`);
  await db.query('ANALYZE');
  return { datasetId, featureSetId: set.id, failureSetId: failureSet[0].id };
}

async function postgres(count: number, db: Client, ids: { datasetId: string; featureSetId: string; failureSetId: string }, results: Results): Promise<void> {
  const { rows: tables } = await db.query(`
    SELECT c.relname AS table, c.reltuples::bigint AS rows, pg_table_size(c.oid) AS heap, pg_indexes_size(c.oid) AS indexes, pg_total_relation_size(c.oid) AS total
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC`);
  const sizes = tables
    .filter((t) => Number(t.rows) > 0)
    .map((t) => ({ table: t.table, rows: Number(t.rows), heapBytes: Number(t.heap), indexBytes: Number(t.indexes), totalBytes: Number(t.total), bytesPerRow: Math.round(Number(t.total) / Number(t.rows)) }));
  console.log('\n| table | rows | heap | indexes | bytes per row (all) |\n|---|---|---|---|---|');
  for (const t of sizes) console.log(`| ${t.table} | ${t.rows} | ${mib(t.heapBytes)} | ${mib(t.indexBytes)} | ${t.bytesPerRow} |`);

  const middle = async (sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows[0];
  const midImage = Number((await middle('SELECT id FROM images WHERE dataset_id = $1 ORDER BY id OFFSET $2 LIMIT 1', [ids.datasetId, Math.floor(count / 2)])).id);
  const midPaths = (await db.query('SELECT path FROM images WHERE dataset_id = $1 AND id >= $2 ORDER BY id LIMIT 256', [ids.datasetId, midImage])).rows.map((r) => r.path);
  const midIds = Array.from({ length: 64 }, (_, i) => midImage + i);
  const midCommand = (await middle('SELECT id FROM commands ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1', [Math.floor(count / 2)])).id;
  const midRun = (await middle('SELECT id FROM training_runs ORDER BY created_at, id OFFSET $1 LIMIT 1', [Math.floor(count / 2)])).id;
  // The repositories' queries, as drizzle writes them, with values from the middle of each table.
  const queries: Array<{ name: string; sql: string; params: unknown[] }> = [
    { name: 'ingest: known images of a 256-file chunk', sql: 'SELECT id, path, bytes, mtime_ms, sha256, label, split, status FROM images WHERE dataset_id = $1 AND path = ANY($2)', params: [ids.datasetId, midPaths] },
    { name: 'ingest: touch 256 unchanged images', sql: 'EXPLAIN_UPDATE', params: [] },
    { name: 'planner: window of 2,000 images', sql: 'SELECT id, path, label, split, status FROM images WHERE dataset_id = $1 AND id > $2 ORDER BY id LIMIT 2000', params: [ids.datasetId, midImage] },
    { name: 'planner: vectors among the window', sql: 'SELECT image_id FROM feature_vectors WHERE feature_set_id = $1 AND image_id = ANY($2)', params: [ids.featureSetId, Array.from({ length: 2000 }, (_, i) => midImage + i)] },
    { name: 'feature store: stored among a 64-vector batch', sql: 'SELECT image_id FROM feature_vectors WHERE feature_set_id = $1 AND image_id = ANY($2)', params: [ids.featureSetId, midIds] },
    { name: 'GET /datasets/:id/images (middle page)', sql: 'SELECT * FROM images WHERE dataset_id = $1 AND id > $2 ORDER BY id LIMIT 101', params: [ids.datasetId, midImage] },
    { name: 'GET /feature-sets/:id/vectors (middle page)', sql: 'SELECT image_id, shard_id, row FROM feature_vectors WHERE feature_set_id = $1 AND image_id > $2 ORDER BY image_id LIMIT 101', params: [ids.featureSetId, midImage] },
    { name: 'GET /feature-sets/:id/failures (middle page)', sql: 'SELECT f.image_id, i.path, f.reason, f.at FROM (SELECT image_id, reason, created_at AS at FROM feature_failures WHERE feature_set_id = $1 AND image_id > $2 ORDER BY image_id LIMIT 101) f JOIN images i ON i.id = f.image_id ORDER BY f.image_id', params: [ids.failureSetId, midImage] },
    { name: 'GET /commands (middle page)', sql: 'SELECT * FROM commands WHERE (created_at, id) < (SELECT created_at, id FROM commands WHERE id = $1) ORDER BY created_at DESC, id DESC LIMIT 101', params: [midCommand] },
    { name: 'GET /rejected-messages (middle page)', sql: 'SELECT * FROM rejected_messages WHERE id < $1 ORDER BY id DESC LIMIT 101', params: [Math.floor(count / 2)] },
    { name: 'GET /runs (middle page)', sql: 'SELECT * FROM training_runs WHERE (created_at, id) > (SELECT created_at, id FROM training_runs WHERE id = $1) ORDER BY created_at, id LIMIT 101', params: [midRun] },
    { name: 'GET /runs/:id of a run not taken yet (its runs.create command)', sql: "SELECT * FROM commands WHERE type = 'runs.create' AND payload->>'runId' = $1", params: [randomUUID()] },
  ];
  const explained: Array<{ name: string; ms: number; plan: string }> = [];
  for (const q of queries) {
    if (q.sql === 'EXPLAIN_UPDATE') {
      await db.query('BEGIN');
      const { rows } = await db.query('EXPLAIN (ANALYZE, FORMAT JSON) UPDATE images SET seen_at = now() WHERE id = ANY($1)', [Array.from({ length: 256 }, (_, i) => midImage + i)]);
      await db.query('ROLLBACK');
      explained.push({ name: q.name, ms: rows[0]['QUERY PLAN'][0]['Execution Time'], plan: planSummary(rows[0]['QUERY PLAN'][0].Plan) });
      continue;
    }
    const { rows } = await db.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${q.sql}`, q.params);
    explained.push({ name: q.name, ms: rows[0]['QUERY PLAN'][0]['Execution Time'], plan: planSummary(rows[0]['QUERY PLAN'][0].Plan) });
  }
  console.log('\n| hot query | ms (EXPLAIN ANALYZE) | plan |\n|---|---|---|');
  for (const e of explained) console.log(`| ${e.name} | ${e.ms.toFixed(2)} | ${e.plan} |`);
  const slowest = explained.reduce((a, b) => (b.ms > a.ms ? b : a));
  console.log(`slowest hot query at ${count} rows: ${slowest.name}, ${slowest.ms.toFixed(2)} ms`);
  results.postgres = { tables: sizes, queries: explained, slowest };
}

/** `Limit > Index Scan using images_dataset_id_idx`: the plan's nodes, outermost first. */
function planSummary(plan: { 'Node Type': string; 'Index Name'?: string; Plans?: unknown[] }): string {
  const parts: string[] = [];
  const walk = (node: { 'Node Type': string; 'Index Name'?: string; 'Relation Name'?: string; Plans?: unknown[] }) => {
    parts.push(`${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : node['Relation Name'] ? ` on ${node['Relation Name']}` : ''}`);
    for (const child of (node.Plans ?? []) as Array<typeof node>) walk(child);
  };
  walk(plan);
  return parts.join(' > ');
}

async function lists(count: number, stack: StageStack, ids: { datasetId: string; featureSetId: string; failureSetId: string }, results: Results): Promise<void> {
  const services = startServices(stack, ['api']);
  try {
    await services.ready(120000);
    const base = `http://127.0.0.1:${serviceInstances(1, 900).find((i) => i.service === 'api')!.port}`;
    const one = async (q: string) => (await stack.db.query(q)).rows[0]?.id;
    const at = (fraction: number) => Math.floor(count * fraction);
    const minImage = Number(await one(`SELECT min(id) AS id FROM images WHERE dataset_id = '${ids.datasetId}'`));
    const routes: Array<{ list: string; route: string; cursors: Array<[string, string | undefined]> }> = [
      { list: 'images', route: `/datasets/${ids.datasetId}/images`, cursors: [['first', undefined], ['middle', encodeCursor(minImage + at(0.5))], ['last', encodeCursor(minImage + count - 50)]] },
      { list: 'vectors', route: `/feature-sets/${ids.featureSetId}/vectors`, cursors: [['first', undefined], ['middle', encodeCursor(minImage + at(0.5))], ['last', encodeCursor(minImage + count - 50)]] },
      { list: 'failures', route: `/feature-sets/${ids.failureSetId}/failures`, cursors: [['first', undefined], ['middle', encodeCursor(minImage + at(0.5))], ['last', encodeCursor(minImage + count - 50)]] },
      { list: 'commands', route: '/commands', cursors: [['first', undefined], ['middle', encodeCursor(await one(`SELECT id FROM commands ORDER BY created_at DESC, id DESC OFFSET ${at(0.5)} LIMIT 1`))], ['last', encodeCursor(await one(`SELECT id FROM commands ORDER BY created_at DESC, id DESC OFFSET ${count - 50} LIMIT 1`))]] },
      { list: 'rejected messages', route: '/rejected-messages', cursors: [['first', undefined], ['middle', encodeCursor(at(0.5))], ['last', encodeCursor(50)]] },
      { list: 'runs', route: '/runs', cursors: [['first', undefined], ['middle', encodeCursor(await one(`SELECT id FROM training_runs ORDER BY created_at, id OFFSET ${at(0.5)} LIMIT 1`))], ['last', encodeCursor(await one(`SELECT id FROM training_runs ORDER BY created_at, id OFFSET ${count - 50} LIMIT 1`))]] },
      { list: 'feature sets', route: '/feature-sets', cursors: [['first', undefined]] },
      { list: 'datasets', route: '/datasets', cursors: [['first', undefined]] },
    ];
    const timings: Array<{ list: string; page: string; limit: number; rows: number; medianMs: number; maxMs: number }> = [];
    for (const { list, route, cursors } of routes) {
      for (const [page, cursor] of cursors) {
        for (const limit of [100, 1000]) {
          const url = `${base}${route}?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
          const ms: number[] = [];
          let rows = 0;
          for (let i = 0; i < 11; i++) {
            const started = process.hrtime.bigint();
            const response = await fetch(url, { headers: { authorization: `Bearer ${API_TOKEN}` } });
            const body = (await response.json()) as { items: unknown[] };
            if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`);
            if (i > 0) ms.push(Number(process.hrtime.bigint() - started) / 1e6); // the first warms the connection and caches
            rows = body.items.length;
          }
          ms.sort((a, b) => a - b);
          timings.push({ list, page, limit, rows, medianMs: Number(ms[Math.floor(ms.length / 2)]!.toFixed(1)), maxMs: Number(ms[ms.length - 1]!.toFixed(1)) });
        }
      }
    }
    console.log(`\n| list (${count} rows) | page | limit | rows | median ms | max ms |\n|---|---|---|---|---|---|`);
    for (const t of timings) console.log(`| ${t.list} | ${t.page} | ${t.limit} | ${t.rows} | ${t.medianMs} | ${t.maxMs} |`);
    const worst = timings.reduce((a, b) => (b.maxMs > a.maxMs ? b : a));
    console.log(`slowest list answer: ${worst.list} ${worst.page} page, limit ${worst.limit}: ${worst.maxMs} ms (target < 200 ms); API peak RSS ${peakRssMiB(services.pids().api!)} MiB`);
    results.lists = { timings, worst, apiPeakRssMiB: peakRssMiB(services.pids().api!) };
  } finally {
    await services.stop(10000);
  }
}

async function main() {
  const { count, stages } = parseArguments();
  const results: Results = { images: count, date: new Date().toISOString(), stages: [...stages], loadAtStart: loadLine(), cpu: os.cpus()[0]?.model };
  console.log(`bench:scale — ${count} images, stages ${[...stages].join(', ')}; ${loadLine()}`);
  await fs.mkdir(CACHE, { recursive: true }); // the vectors stage's strace writes its count there
  const needsFiles = stages.has('generate') || stages.has('ingest') || stages.has('extract');
  const folder = needsFiles ? await generate(count) : '';
  if (stages.has('ingest')) await ingest(count, folder, results);
  if (stages.has('extract')) await extract(count, folder, results);
  if (stages.has('vectors') || stages.has('postgres') || stages.has('lists')) {
    const stack = await openStack('rows');
    try {
      if (stages.has('vectors')) {
        const featureSetId = await vectors(count, stack, results);
        if (stages.has('train')) await train(count, stack, featureSetId, results);
      }
      if (stages.has('postgres') || stages.has('lists')) {
        const ids = await fillLists(stack.db, count);
        if (stages.has('postgres')) await postgres(count, stack.db, ids, results);
        if (stages.has('lists')) await lists(count, stack, ids, results);
      }
    } finally {
      await stack.close();
    }
  }
  results.loadAtEnd = loadLine();
  console.log(`\n${loadLine()}`);
  const file = path.join(CACHE, `results-${count}.json`);
  const earlier = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  await fs.writeFile(file, JSON.stringify({ ...earlier, ...results }, null, 2));
  writeBenchJson(results);
  console.log(`results: ${file}`);
}

runBenchMain(main);
