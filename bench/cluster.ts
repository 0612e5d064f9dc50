/**
 * `npm run bench:cluster`: featx across three test hosts (network namespaces on this machine, the
 * harness of test/cluster; needs root), on a 3-node JetStream cluster:
 *   - extraction with extractors on 1, 2 and 3 hosts (feature stores on all three; same photos),
 *   - the same 3-host extraction with R1 streams instead of R3 (a fresh stack, same cluster shape),
 *   - how long clients take to resume after the NATS node leading the work stream is SIGKILLed.
 * The hosts share this machine's cores, so wall time says little about scaling: every run also
 * reports CPU seconds per host (utime + stime from /proc/<pid>/stat of every process on it: NATS
 * node, services, Postgres) and images per CPU-second.
 *
 * BENCH_IMAGES (default 384), BENCH_ENGINE (default onnx), BENCH_WORK_ITEM_IMAGES (default 16).
 * The ONNX export of the network is a cache; the bench shares it between the hosts and fills it
 * before measuring, so that no measured run pays for an export.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { publish } from '@featx/bus';
import { Engine, extractFeaturesCommand, registerDatasetCommand } from '@featx/contracts';
import { SHARED_DIR } from '../test/support';
import { ClusterStack, cpuSeconds, HOST_OF, leastLeadingNode, moveStreamLeadersOff, NatsNode, postgresPids, startClusterStack } from '../test/cluster/cluster-stack';
import { testHostsUnavailable } from '../test/cluster/test-hosts';
import { writeBenchJson } from './bench-json';
import { runBenchMain } from './bench-main';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 384);
const ENGINE = (process.env.BENCH_ENGINE ?? 'onnx') as Engine;
const WORK_ITEM_IMAGES = Number(process.env.BENCH_WORK_ITEM_IMAGES ?? 16);
const MOBILENET = path.join(SHARED_DIR, 'models/mobilenet_v2_1.0_224');
const CLOTHING = path.join(SHARED_DIR, 'datasets/clothing-small');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Row {
  run: string;
  streams: string;
  extractorHosts: number;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  /** 10% → 90% of the set. */
  steadyImagesPerSecond: number;
  cpuSeconds: number;
  imagesPerCpuSecond: number;
  /** CPU seconds per host (every process on it), host1..host3. */
  hostCpu: number[];
  /** CPU seconds of the three NATS nodes together. */
  natsCpu: number;
}

/** CPU seconds so far of every process on the test hosts, by pid, with its host and role. */
function cpuSample(stack: ClusterStack): Map<number, { host: number; role: string; cpu: number }> {
  const sample = new Map<number, { host: number; role: string; cpu: number }>();
  const add = (pid: number | undefined, host: number, role: string) => {
    if (!pid) return;
    try {
      sample.set(pid, { host, role, cpu: cpuSeconds(pid) });
    } catch {
      // ended meanwhile
    }
  };
  for (const node of stack.nodes) add(node.pid(), Number(node.host.name.replace('host', '')), 'nats');
  for (const service of stack.services.values()) add(service.pid(), HOST_OF[service.label], service.label);
  for (const pid of postgresPids(stack.pg)) add(pid, 1, 'postgres');
  return sample;
}

function cpuDelta(before: ReturnType<typeof cpuSample>, after: ReturnType<typeof cpuSample>): { hostCpu: number[]; natsCpu: number; total: number } {
  const hostCpu = [0, 0, 0];
  let natsCpu = 0;
  for (const [pid, end] of after) {
    const used = end.cpu - (before.get(pid)?.cpu ?? 0);
    hostCpu[end.host - 1] += used;
    if (end.role === 'nats') natsCpu += used;
  }
  return { hostCpu, natsCpu, total: hostCpu.reduce((a, b) => a + b, 0) };
}

async function linkPhotos(dir: string, count: number): Promise<void> {
  const lines = readFileSync(path.join(CLOTHING, 'manifest.csv'), 'utf8').trim().split('\n').slice(1, count + 1);
  for (const line of lines) {
    const [split, label, file] = line.split(',');
    await fs.mkdir(path.join(dir, split, label), { recursive: true });
    await fs.symlink(path.join(CLOTHING, file), path.join(dir, split, label, path.basename(file)));
  }
}

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A dataset of the first `count` photos, in a folder of its own (every run extracts a new set). */
async function dataset(stack: ClusterStack, root: string, name: string, count: number): Promise<string> {
  const dir = path.join(root, 'data', name);
  await linkPhotos(dir, count);
  await publish(stack.bus, registerDatasetCommand, { v: 1, path: dir, name, layout: 'split-class', seed: 42 });
  const row = await poll(async () => (await stack.query<{ id: string; status: string }>('SELECT id, status FROM datasets WHERE name = $1', [name]))[0], (r) => r?.status === 'ready', 120000, `dataset ${name}`);
  return row.id;
}

const progress = async (stack: ClusterStack, datasetId: string) =>
  (await stack.query<{ id: string; images: number; stored: number; failed: number; status: string }>('SELECT id, images, stored, failed, status FROM feature_sets WHERE dataset_id = $1', [datasetId]))[0];

async function extract(stack: ClusterStack, datasetId: string): Promise<void> {
  await publish(stack.bus, extractFeaturesCommand, { v: 1, id: randomUUID(), datasetId, model: MOBILENET, pooling: 'avg', dtype: 'float32', engine: ENGINE, batchSize: WORK_ITEM_IMAGES });
}

/** Runs exactly these extractors (labels), stopping or starting the others. */
async function extractorsOn(stack: ClusterStack, hosts: number[]): Promise<void> {
  for (const host of [1, 2, 3]) {
    const label = `extractor-${host}`;
    const running = !!stack.services.get(label)?.launched;
    if (hosts.includes(host) && !running) await stack.start(label);
    if (!hosts.includes(host) && running) await stack.stop(label);
  }
}

async function measure(stack: ClusterStack, root: string, run: string, streams: string, hosts: number[]): Promise<Row> {
  await extractorsOn(stack, hosts);
  const datasetId = await dataset(stack, root, `${streams}-${hosts.length}-hosts`, IMAGES);
  const before = cpuSample(stack);
  const started = Date.now();
  await extract(stack, datasetId);
  let at10: number | undefined;
  let at90: number | undefined;
  const set = await poll(
    () => progress(stack, datasetId),
    (p) => {
      const done = p ? p.stored + p.failed : 0;
      if (p && at10 === undefined && done >= p.images * 0.1) at10 = Date.now();
      if (p && at90 === undefined && done >= p.images * 0.9) at90 = Date.now();
      return p?.status === 'complete';
    },
    600000,
    `${run}: the set to complete`,
  );
  const seconds = (Date.now() - started) / 1000;
  const cpu = cpuDelta(before, cpuSample(stack));
  const row: Row = {
    run,
    streams,
    extractorHosts: hosts.length,
    images: set.stored,
    seconds: round(seconds, 1),
    imagesPerSecond: round(set.stored / seconds, 1),
    steadyImagesPerSecond: round((set.images * 0.8) / (((at90 ?? Date.now()) - (at10 ?? started)) / 1000), 1),
    cpuSeconds: round(cpu.total, 1),
    imagesPerCpuSecond: round(set.stored / cpu.total, 2),
    hostCpu: cpu.hostCpu.map((c) => round(c, 1)),
    natsCpu: round(cpu.natsCpu, 1),
  };
  console.log(JSON.stringify(row));
  return row;
}

interface Resume {
  kill: string;
  node: string;
  resumeMs: number;
  /** The longest pause between stored batches from the kill until 5 more batches are stored. */
  longestPauseMs: number;
  /** Median gap between stored batches before the kill, for comparison. */
  typicalGapMs: number;
}

/**
 * SIGKILL to a NATS node mid-extraction (R3, 3 extractors): time to the next stored batch. `leader`:
 * the node leading the work stream; else a node leading no stream (leaders stepped down first).
 * After a leader kill the set is not waited for (nats-server 2.9.10 may leave the restarted node
 * diverged, see the README); it is the bench's last step on its stack.
 */
async function resumeAfterNodeKill(stack: ClusterStack, root: string, leader: boolean): Promise<Resume> {
  await extractorsOn(stack, [1, 2, 3]);
  const datasetId = await dataset(stack, root, leader ? 'leader-kill' : 'follower-kill', IMAGES);
  await extract(stack, datasetId);
  const gaps: number[] = [];
  let last = { stored: 0, at: Date.now() };
  await poll(
    () => progress(stack, datasetId),
    (p) => {
      if (p && p.stored > last.stored) {
        if (last.stored > 0) gaps.push(Date.now() - last.at);
        last = { stored: p.stored, at: Date.now() };
      }
      return !!p && p.stored >= p.images * 0.3;
    },
    300000,
    '30% stored',
    20,
  );
  let victim: NatsNode;
  if (leader) {
    const info = await stack.bus.jsm.streams.info(stack.bus.names.streams.work);
    victim = stack.nodes.find((node) => node.name === info.cluster?.leader) ?? stack.nodes[0];
  } else {
    victim = await leastLeadingNode(stack);
    await moveStreamLeadersOff(stack, victim);
  }
  const storedAtKill = (await progress(stack, datasetId)).stored;
  const killed = Date.now();
  await victim.kill('SIGKILL');
  await poll(() => progress(stack, datasetId), (p) => p.stored > storedAtKill, 120000, 'the next stored batch after the kill', 20);
  const resumeMs = Date.now() - killed;
  // The next batch may have been on its way before the kill: the longest pause between stored
  // batches until 5 more are stored says more about how long the clients stalled.
  let longestPauseMs = resumeMs;
  let lastAfter = { stored: (await progress(stack, datasetId)).stored, at: Date.now() };
  await poll(
    () => progress(stack, datasetId),
    (p) => {
      if (p.stored > lastAfter.stored) {
        longestPauseMs = Math.max(longestPauseMs, Date.now() - lastAfter.at);
        lastAfter = { stored: p.stored, at: Date.now() };
      }
      return p.stored >= Math.min(p.images - p.failed, storedAtKill + 5 * WORK_ITEM_IMAGES);
    },
    120000,
    'five more batches after the kill',
    20,
  );
  await victim.start();
  if (!leader) await poll(() => progress(stack, datasetId), (p) => p.status === 'complete', 300000, 'the set to complete after the kill');
  gaps.sort((a, b) => a - b);
  return { kill: leader ? 'the work stream\'s leader' : 'a node leading no stream', node: victim.name, resumeMs, longestPauseMs, typicalGapMs: gaps[Math.floor(gaps.length / 2)] ?? 0 };
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

/** The services' last log lines (warnings and errors), shown when a stack fails to start. */
const logs: string[] = [];

async function withStack<T>(root: string, replicas: number, body: (stack: ClusterStack) => Promise<T>): Promise<T> {
  const stackRoot = path.join(root, `r${replicas}`);
  const onnxCache = path.join(root, 'onnx-cache');
  const stack = await startClusterStack({
    root: stackRoot,
    replicas,
    services: ['store-1', 'store-2', 'store-3', 'extractor-1'],
    env: { FEATX_ONNX_CACHE_DIR: onnxCache },
    log: (line) => {
      logs.push(line);
      if (logs.length > 200) logs.shift();
    },
  }).catch((error) => {
    console.error(logs.join('\n'));
    throw error;
  });
  try {
    return await body(stack);
  } finally {
    await stack.teardown();
  }
}

async function main(): Promise<void> {
  const unavailable = testHostsUnavailable();
  if (unavailable) throw new Error(`bench:cluster needs test hosts (network namespaces): ${unavailable}`);
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-bench-cluster-')));
  const rows: Row[] = [];
  const resumes: Resume[] = [];
  try {
    await withStack(root, 3, async (stack) => {
      // Fills the shared ONNX cache (the export) and warms Postgres and the stores.
      await extractorsOn(stack, [1]);
      const warm = await dataset(stack, path.join(root, 'r3'), 'warm-up', 32);
      await extract(stack, warm);
      await poll(() => progress(stack, warm), (p) => p.status === 'complete', 300000, 'the warm-up set');
      for (const hosts of [[1], [1, 2], [1, 2, 3]]) rows.push(await measure(stack, path.join(root, 'r3'), `extractors on ${hosts.length} host(s)`, 'R3', hosts));
      for (const leader of [false, true]) {
        resumes.push(await resumeAfterNodeKill(stack, path.join(root, 'r3'), leader));
        console.log(JSON.stringify(resumes.at(-1)));
      }
    });
    await withStack(root, 1, async (stack) => {
      await extractorsOn(stack, [1, 2, 3]);
      const warm = await dataset(stack, path.join(root, 'r1'), 'warm-up', 32);
      await extract(stack, warm);
      await poll(() => progress(stack, warm), (p) => p.status === 'complete', 300000, 'the warm-up set');
      rows.push(await measure(stack, path.join(root, 'r1'), 'extractors on 3 hosts', 'R1', [1, 2, 3]));
    });
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
  const table = [
    `MobileNetV2 (${ENGINE}), ${IMAGES} clothing-small photos, ${WORK_ITEM_IMAGES}-image work items; feature stores on all three hosts; the hosts share ${os.availableParallelism()} cores.`,
    '',
    '| run | streams | images | wall s | img/s | img/s 10→90% | CPU s (all hosts) | img per CPU-s | CPU s host1 / host2 / host3 | CPU s NATS (3 nodes) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.run} | ${r.streams} | ${r.images} | ${r.seconds} | ${r.imagesPerSecond} | ${r.steadyImagesPerSecond} | ${r.cpuSeconds} | ${r.imagesPerCpuSecond} | ${r.hostCpu.join(' / ')} | ${r.natsCpu} |`),
    '',
    '| NATS node SIGKILLed mid-extraction (R3, 3 extractors) | node | SIGKILL → next stored batch | longest pause until 5 more batches | median gap between batches before |',
    '|---|---|---|---|---|',
    ...resumes.map((r) => `| ${r.kill} | ${r.node} | ${(r.resumeMs / 1000).toFixed(2)} s | ${(r.longestPauseMs / 1000).toFixed(2)} s | ${(r.typicalGapMs / 1000).toFixed(2)} s |`),
  ].join('\n');
  console.log(`\n${table}`);
  writeBenchJson({ rows, resumes });
}

runBenchMain(main);
