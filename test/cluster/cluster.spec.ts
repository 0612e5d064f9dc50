/**
 * featx across three hosts (network namespaces on this machine, see test-hosts.ts) on a 3-node
 * JetStream cluster with R3 streams: each host runs a NATS node, an extractor and a feature store;
 * host 1 also Postgres, the API and ingest; host 2 the trainer. Every case ends with the set
 * checked for exactly once by image id: Postgres's counts and rows, and every shard read back
 * through the store that holds it, over the bus.
 *
 * Needs root and iproute2; skips with the reason where test hosts cannot be made, except under
 * CI=true, where it fails instead (CI runs on a machine kind that allows them).
 */
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SHARED_DIR, sharedAvailable } from '@featx/testing';
import { expectExactlyOnce, SetCheck } from '../faults/fault-stack';
import { CLUSTER_API_TOKEN, ClusterStack, describeCluster, leastLeadingNode, moveStreamLeadersOff, NATS_SERVER, natsServerVersion, startClusterStack } from './cluster-stack';
import { testHostsUnavailable } from './test-hosts';

const MODEL_DIR = path.join(SHARED_DIR, 'models/mobilenet_v2_1.0_224');
const CLOTHING = path.join(SHARED_DIR, 'datasets/clothing-small');
const IMAGES = Number(process.env.FEATX_CLUSTER_IMAGES ?? 96);
/** Short, so that work held by a killed or cut-off replica comes back within the test. */
const ACK_WAIT_MS = 5000;

const hostsUnavailable = testHostsUnavailable();
const sharedMissing = !sharedAvailable('datasets/clothing-small') || !sharedAvailable('models/mobilenet_v2_1.0_224') ? 'needs ../shared (clothing-small, MobileNetV2)' : undefined;
const reason = hostsUnavailable ?? sharedMissing;
const required = process.env.CI === 'true';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    let value: T | undefined;
    try {
      value = await read();
    } catch (error) {
      last = error; // a store or node on its way back
    }
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}; last value ${JSON.stringify(value)}`);
    await sleep(250);
  }
}


if (required && reason) {
  describe('featx across three hosts', () => {
    it(`can make its test hosts under CI=true (${reason})`, () => {
      throw new Error(`the multi-host suite must run under CI=true, but: ${reason}`);
    });
  });
} else {
  (reason ? describe.skip : describe)(`featx across three hosts (3-node JetStream cluster, R3 streams)${reason ? ` (skipped: ${reason})` : ''}`, () => {
    let root: string;
    let stack: ClusterStack;
    const logs: string[] = [];
    let datasetId: string;
    const timings: Record<string, number> = {};
    const started = Date.now();

    const api = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${stack.apiUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${CLUSTER_API_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
      return JSON.parse(text) as T;
    };

    const progress = async (featureSetId: string) =>
      (await stack.query<{ images: number; stored: number; failed: number; status: string }>('SELECT images, stored, failed, status FROM feature_sets WHERE id = $1', [featureSetId]))[0];

    /** Publishes the extraction through the API and returns the set once it exists. */
    async function extract(pooling: 'avg' | 'max', dtype: 'float16' | 'float32'): Promise<string> {
      // Small work items (8 images): many of them, spread over the three extractors.
      await api('POST', '/feature-sets', { datasetId, model: MODEL_DIR, pooling, dtype, engine: 'tfjs', batchSize: 8 });
      const row = await pollUntil(
        async () => (await stack.query<{ id: string }>('SELECT id FROM feature_sets WHERE dataset_id = $1 AND pooling = $2 AND dtype = $3', [datasetId, pooling, dtype]))[0],
        (r) => r !== undefined,
        60000,
        'the feature set',
      );
      return row.id;
    }

    const waitDone = (featureSetId: string, atLeast: number, timeoutMs = 120000) =>
      pollUntil(() => progress(featureSetId), (p) => p.stored + p.failed >= atLeast, timeoutMs, `${atLeast} images done`);

    /** Waits for completion, lets redeliveries of stored work arrive (they must change nothing), checks. */
    async function finishExactlyOnce(featureSetId: string): Promise<SetCheck> {
      await pollUntil(() => progress(featureSetId), (p) => p.status === 'complete', 180000, 'the set to complete');
      await sleep(ACK_WAIT_MS + 1000);
      // Through the stores: one that was cut off answers again once it is back.
      const check = await pollUntil(() => stack.checkSet(featureSetId), () => true, 60000, 'every shard read back through its store');
      expectExactlyOnce(check);
      return check;
    }

    /** The set's rows per split: what a run trained and evaluated on must match. */
    const vectorsPerSplit = async (featureSetId: string) =>
      Object.fromEntries(
        (await stack.query<{ split: string; n: string }>('SELECT i.split, count(*) AS n FROM feature_vectors v JOIN images i ON i.id = v.image_id WHERE v.feature_set_id = $1 GROUP BY i.split', [featureSetId])).map((r) => [r.split, Number(r.n)]),
      );

    const rowsByStore = async (featureSetId: string) =>
      Object.fromEntries((await stack.query<{ writer: string; n: string }>('SELECT writer, sum(rows) AS n FROM feature_shards WHERE feature_set_id = $1 GROUP BY writer ORDER BY writer', [featureSetId])).map((r) => [r.writer, Number(r.n)]));

    /** Creates a run through the API and returns its id. */
    async function train(featureSetId: string, epochs: number): Promise<string> {
      const { runId } = await api<{ runId: string }>('POST', '/runs', { featureSetId, epochs, batchSize: 8 });
      return runId;
    }

    const run = async (runId: string) =>
      (await stack.query<{ status: string; error: string | null; epochs_done: number; phase: Record<string, unknown> | null }>('SELECT status, error, epochs_done, phase FROM training_runs WHERE id = $1', [runId]))[0];

    /** The run succeeded with every epoch, and its evaluations counted every vector of their split. */
    async function expectTrainedOnEverything(runId: string, featureSetId: string, epochs: number): Promise<void> {
      const done = await pollUntil(() => run(runId), (r) => !!r && r.status !== 'queued' && r.status !== 'running', 180000, 'the run to end');
      expect({ status: done.status, error: done.error, epochs: done.epochs_done }).toEqual({ status: 'succeeded', error: null, epochs });
      const expected = await vectorsPerSplit(featureSetId);
      const evaluations = await stack.query<{ split: string; weighted_avg: { support: number } }>('SELECT split, weighted_avg FROM evaluations WHERE run_id = $1', [runId]);
      expect(evaluations.length).toBeGreaterThan(0);
      for (const evaluation of evaluations) expect([evaluation.split, evaluation.weighted_avg.support]).toEqual([evaluation.split, expected[evaluation.split]]);
    }

    beforeAll(async () => {
      root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-cluster-')));
      // A slice of clothing-small over its splits and classes (symlinks: nothing copied).
      const manifest = readFileSync(path.join(CLOTHING, 'manifest.csv'), 'utf8').trim().split('\n').slice(1);
      for (const line of manifest.filter((_, i) => i % 7 === 0).slice(0, IMAGES)) {
        const [split, label, file] = line.split(',');
        await fs.mkdir(path.join(root, 'data', 'clothing', split, label), { recursive: true });
        await fs.symlink(path.join(CLOTHING, file), path.join(root, 'data', 'clothing', split, label, path.basename(file)));
      }
      stack = await startClusterStack({
        root,
        replicas: 3,
        env: {
          FEATX_ACK_WAIT_MS: String(ACK_WAIT_MS),
          FEATX_SHUTDOWN_TIMEOUT_MS: '5000',
          FEATX_RUN_STALE_MS: '5000',
          // A store cut off mid-transaction must not hold the set's row lock for long.
          FEATX_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '5000',
          FEATX_LOG_LEVEL: process.env.FEATX_CLUSTER_LOG_LEVEL ?? 'warn',
        },
        log: (line) => {
          logs.push(line);
          if (logs.length > 20000) logs.splice(0, 5000);
        },
      });
      timings.startup = Date.now() - started;
    }, 240000);

    afterAll(async () => {
      await stack?.teardown();
      const logFile = path.join(os.tmpdir(), 'featx-cluster-services.log');
      await fs.writeFile(logFile, logs.join('\n')).catch(() => undefined);
      console.log(`cluster suite (${NATS_SERVER} v${natsServerVersion().join('.')}): ${JSON.stringify(timings)} ms; service logs: ${logFile}`);
      if (process.env.FEATX_CLUSTER_KEEP) console.log(`kept ${root}`);
      else if (root) await fs.rm(root, { recursive: true, force: true });
    }, 60000);

    it('a: registration through the API, extraction on all three hosts, training on host 2 reading all three stores', async () => {
      const t0 = Date.now();
      await api('POST', '/datasets', { path: path.join(root, 'data', 'clothing'), name: 'cluster', layout: 'split-class', seed: 42 });
      const dataset = await pollUntil(
        async () => (await stack.query<{ id: string; status: string }>("SELECT id, status FROM datasets WHERE name = 'cluster'"))[0],
        (d) => d?.status === 'ready',
        60000,
        'the dataset registered',
      );
      datasetId = dataset.id;
      const setId = await extract('avg', 'float32');
      const check = await finishExactlyOnce(setId);
      expect(check.images).toBe(IMAGES);
      // Whichever store pulled a batch stored it (which ones is up to the consumers' pace).
      const writers = await rowsByStore(setId);
      expect(Object.keys(writers).length).toBeGreaterThanOrEqual(1);
      console.log(`a: rows by store ${JSON.stringify(writers)}`);
      const runId = await train(setId, 3);
      await expectTrainedOnEverything(runId, setId, 3);
      timings.a = Date.now() - t0;
    }, 300000);

    it('c: host 3 cut off the network mid-extraction, with the other extractors connected to its node, then back: its work is redone elsewhere, its shards readable again', async () => {
      const t0 = Date.now();
      const host3 = stack.network.hosts[2];
      // The other hosts' extractors connected to host 3's node (given it alone; they learn the
      // others from it): they must notice it gone and move on, not just see its consumers move.
      for (const label of ['extractor-1', 'extractor-2']) {
        await stack.stop(label);
        await stack.start(label, { FEATX_NATS_URL: stack.nodes[2].url });
      }
      const setId = await extract('avg', 'float16');
      await waitDone(setId, Math.round(IMAGES * 0.25));
      stack.network.cut(host3);
      try {
        // Hosts 1 and 2 finish the set: host 3's unacked items come back after the ack wait.
        await pollUntil(() => progress(setId), (p) => p.status === 'complete', 120000, 'the set to complete without host 3').catch(async (error: Error) => {
          throw new Error(`${error.message}; the cluster: ${await describeCluster(stack)}`);
        });
      } finally {
        stack.network.restore(host3);
      }
      const check = await finishExactlyOnce(setId);
      expect(check.images).toBe(IMAGES);
      timings.c = Date.now() - t0;
    }, 300000);

    it('d: a run on host 2 over shards of all three stores, store 3 down for part of it: it waits, then trains on everything', async () => {
      const t0 = Date.now();
      // A set whose shards are surely on all three stores: one store at a time takes the batches
      // (1, then 3, then 2; the others stopped: store 3 gets rows past the first split's, training rows). The extractors are paused (SIGSTOP) while stores
      // are swapped, so that no store finishes the set before the next one is up.
      const extractors = ['extractor-1', 'extractor-2', 'extractor-3'];
      const signalAll = (signal: NodeJS.Signals) => extractors.forEach((label) => process.kill(stack.services.get(label)!.pid()!, signal));
      await stack.stop('store-2');
      await stack.stop('store-3');
      const setId = await extract('max', 'float16');
      try {
        for (const [from, to] of [['store-1', 'store-3'], ['store-3', 'store-2']]) {
          const before = (await progress(setId)).stored;
          await waitDone(setId, Math.min(IMAGES, before + 16));
          signalAll('SIGSTOP');
          await stack.start(to);
          await stack.stop(from);
          signalAll('SIGCONT');
        }
      } finally {
        signalAll('SIGCONT');
      }
      await pollUntil(() => progress(setId), (p) => p.status === 'complete', 180000, 'the set to complete');
      await Promise.all([stack.start('store-1'), stack.start('store-3')]);
      await finishExactlyOnce(setId);
      expect(Object.keys(await rowsByStore(setId))).toEqual(['store-1', 'store-2', 'store-3']);
      await stack.stop('store-3');
      const runId = await train(setId, 3);
      // While store 3 is down the run neither fails nor trains on part of the data: it waits, and says for what.
      const waiting = await pollUntil(
        () => run(runId),
        (r) => !!r && (!!(r.phase as { waitingFor?: { store?: string } } | null)?.waitingFor || (r.status !== 'queued' && r.status !== 'running')),
        60000,
        'the run to show what it waits for',
      );
      expect({ status: waiting.status, error: waiting.error }).toEqual({ status: 'running', error: null });
      expect((waiting.phase as { waitingFor: { store: string } }).waitingFor.store).toBe('store-3');
      // Where the wait falls depends on the splits store 3 holds: the first epoch (training rows) or the
      // final evaluation of a split; either way nothing that needs its rows may have happened yet.
      const splitsOnStore3 = (await stack.query<{ split: string }>("SELECT DISTINCT split FROM feature_shards WHERE feature_set_id = $1 AND writer = 'store-3' AND rows > 0", [setId])).map((r) => r.split);
      console.log(`d: store 3 holds rows of ${splitsOnStore3.join(', ')}`);
      await sleep(3000);
      const still = await run(runId);
      expect(still.status).toBe('running');
      expect((still.phase as { waitingFor?: { store: string } }).waitingFor?.store).toBe('store-3');
      if (splitsOnStore3.includes('training')) expect(still.epochs_done).toBe(0);
      const evaluated = (await stack.query<{ split: string }>('SELECT split FROM evaluations WHERE run_id = $1', [runId])).map((r) => r.split);
      expect(evaluated.filter((split) => splitsOnStore3.includes(split))).toEqual([]);
      await stack.start('store-3');
      await expectTrainedOnEverything(runId, setId, 3);
      timings.d = Date.now() - t0;
    }, 300000);
    it('b: a NATS node killed with SIGKILL mid-extraction: clients move on, the node comes back and catches up', async () => {
      const t0 = Date.now();
      const setId = await extract('max', 'float32');
      const before = await waitDone(setId, Math.round(IMAGES * 0.25));
      expect(before.status).toBe('running');
      // A node that leads no stream when it dies (its clients and its replicas move on). Killing a
      // stream's leader mid-write can leave nats-server 2.9.10 with a restarted node holding
      // messages the others lack (README, "Running on several machines"): a server matter, kept
      // out of this case.
      const victim = await leastLeadingNode(stack);
      await moveStreamLeadersOff(stack, victim);
      const killed = Date.now();
      await victim.kill('SIGKILL');
      const storedAtKill = (await progress(setId)).stored;
      // Clients move to the other nodes: work goes on while it is down.
      const moved = await waitDone(setId, storedAtKill + 1, 60000);
      timings.bResumeMs = Date.now() - killed;
      await victim.start();
      const check = await finishExactlyOnce(setId);
      expect(moved.stored + moved.failed).toBeGreaterThan(storedAtKill);
      expect(check.images).toBe(IMAGES);
      // Caught up: every stream's leader lists it as a current replica (JetStream's own account).
      for (const stream of Object.values(stack.bus.names.streams)) {
        await pollUntil(
          async () => (await stack.bus.jsm.streams.info(stream)).cluster,
          (cluster) => !!cluster && (cluster.leader === victim.name || !!cluster.replicas?.some((r) => r.name === victim.name && r.current)),
          60000,
          `${victim.name} current in ${stream}`,
        );
      }
      // Its own copy of every stream (its /jsz) against the others'. nats-server 2.9.10 sometimes
      // leaves a SIGKILLed node with work-queue messages the others removed (README, "Running on
      // several machines"): with it the difference is shown, not failed on (this case runs last so
      // that such a copy cannot stall the others); from 2.10 (.ci/run fetches one) the copies must agree.
      const copies = await pollUntil(
        () => Promise.all(stack.nodes.map((node) => node.streams())),
        (all) => all.every((copy) => Object.keys(copy).length === 4) && all.every((copy) => Object.entries(all[0]).every(([name, state]) => copy[name]?.lastSeq === state.lastSeq && copy[name]?.messages === state.messages)),
        30000,
        'equal copies',
      ).catch(() => Promise.all(stack.nodes.map((node) => node.streams())));
      const differing = Object.keys(copies[0]).filter((name) => copies.some((copy) => copy[name]?.lastSeq !== copies[0][name].lastSeq || copy[name]?.messages !== copies[0][name].messages));
      if (differing.length) console.warn(`b: after ${victim.name}'s restart the nodes' copies differ in ${differing.join(', ')}: ${JSON.stringify(Object.fromEntries(stack.nodes.map((node, i) => [node.name, Object.fromEntries(differing.map((name) => [name, copies[i][name]]))])))}`);
      timings.bCopiesDiffer = differing.length;
      const [major, minor] = natsServerVersion();
      if (major > 2 || minor >= 10) expect(differing).toEqual([]);
      timings.b = Date.now() - t0;
    }, 300000);
  });
}
