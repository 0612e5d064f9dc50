import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { readNpy, shardDir } from '@featx/features';
import { launchServices, LaunchedServices, ServiceInstance } from '../tools/service-launcher';
import { waitFor } from '../tools/local-stack';
import { runCli } from '../apps/cli/src/cli';
import { freePorts } from './support/free-ports';
import { launchTestServiceProcesses, PROCESS_API_TOKEN, TestServiceProcesses } from './support/service-processes';
import { createSyntheticFeatureSet } from './support/synthetic-features';
import { TEST_NATS_URL } from './support/test-bus';

const CLASSES = ['alpha', 'beta', 'gamma'];
const ROWS = { training: 3000, validation: 300, evaluation: 300 };
const DIM = 32;
const EPOCHS = 100;

/**
 * Feature stores as replicas on separate "hosts" (processes, each with a features dir of its
 * own): store-a holds the validation and evaluation shards, store-b the training shard; the API
 * and the trainer have features dirs with no shard in them, so every row they read comes over
 * the bus from the store that holds it (found from feature_shards.writer). store-b is killed in
 * the middle of a training run: the run waits, its phase naming store-b, an export answers 503,
 * and once store-b is back the run completes with every epoch and a correct evaluation.
 */
describe('feature stores on several hosts', () => {
  let root: string;
  let dirs: Record<'a' | 'b' | 'api' | 'trainer', string>;
  let stack: TestServiceProcesses;
  let storeB: LaunchedServices | undefined;
  let storeBInstance: ServiceInstance;
  let sharedEnv: NodeJS.ProcessEnv;
  let apiUrl: string;
  let db: Client;
  let featureSetId: string;

  beforeAll(async () => {
    root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-stores-')));
    dirs = { a: path.join(root, 'host-a/features'), b: path.join(root, 'host-b/features'), api: path.join(root, 'host-api/features'), trainer: path.join(root, 'host-trainer/features') };
    for (const dir of Object.values(dirs)) await fs.mkdir(dir, { recursive: true });
    const [apiPort, aPort, bPort, trainerPort] = await freePorts(4);
    const base = {
      ...process.env,
      FEATX_DATA_ROOTS: `data=${root}`,
      FEATX_STATE_DIR: path.join(root, 'state'),
      FEATX_ARTIFACTS_DIR: path.join(root, 'artifacts'),
      FEATX_LOG_LEVEL: 'warn',
      FEATX_TF_BACKEND: 'wasm',
      FEATX_STORE_HEARTBEAT_MS: '500',
      FEATX_STORE_READ_TIMEOUT_MS: '2000',
    };
    stack = await launchTestServiceProcesses(
      [
        { service: 'api', label: 'api', port: apiPort, env: { FEATX_FEATURES_DIR: dirs.api } },
        { service: 'feature-store', label: 'store-a', port: aPort, env: { FEATX_STORE_ID: 'store-a', FEATX_FEATURES_DIR: dirs.a, FEATX_STORE_HOST: 'host-a' } },
        { service: 'trainer', label: 'trainer', port: trainerPort, env: { FEATX_FEATURES_DIR: dirs.trainer } },
      ],
      'sources',
      base,
    );
    await stack.services.ready(120000);
    sharedEnv = { ...base, FEATX_NATS_URL: TEST_NATS_URL, FEATX_DATABASE_URL: stack.database.url, FEATX_NAMESPACE: stack.namespace, FEATX_API_TOKEN: PROCESS_API_TOKEN };
    storeBInstance = { service: 'feature-store', label: 'store-b', port: bPort, env: { FEATX_STORE_ID: 'store-b', FEATX_FEATURES_DIR: dirs.b, FEATX_STORE_HOST: 'host-b' } };
    await startStoreB();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    db = new Client({ connectionString: stack.database.url });
    await db.connect();
    // Written as store-b writes it, then the held-out splits handed to store-a (moved to its disk).
    ({ featureSetId } = await createSyntheticFeatureSet(db, { classes: CLASSES, dim: DIM, rows: ROWS, separable: true, seed: 7, storeId: 'store-b', featuresDir: dirs.b }));
    const { rows: heldOut } = await db.query("SELECT id, path FROM feature_shards WHERE feature_set_id = $1 AND split <> 'training'", [featureSetId]);
    for (const shard of heldOut) {
      await fs.mkdir(path.dirname(shardDir(dirs.a, shard.path)), { recursive: true });
      await fs.rename(shardDir(dirs.b, shard.path), shardDir(dirs.a, shard.path));
      await db.query("UPDATE feature_shards SET writer = 'store-a' WHERE id = $1", [shard.id]);
    }
  }, 240000);

  afterAll(async () => {
    await db?.end();
    await storeB?.stop(2000);
    await stack?.cleanup();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  async function startStoreB(): Promise<void> {
    storeB = launchServices([storeBInstance], sharedEnv, (line) => stack.lines.push(line));
    await storeB.ready(120000);
  }

  async function cli(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['--api-url', apiUrl, '--token', PROCESS_API_TOKEN, ...args], (t) => out.push(t), (t) => err.push(t));
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  async function api(method: string, route: string, body?: unknown) {
    const response = await fetch(`${apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${PROCESS_API_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  /** The rows of one array of a split, read straight from the shard files where its store keeps them. */
  async function fromShards(split: string, name: 'features' | 'labels' | 'image_ids') {
    const { rows } = await db.query('SELECT path, writer FROM feature_shards WHERE feature_set_id = $1 AND split = $2 ORDER BY index', [featureSetId, split]);
    const arrays = [];
    for (const shard of rows) arrays.push(Array.from((await readNpy(path.join(shardDir(shard.writer === 'store-a' ? dirs.a : dirs.b, shard.path), `${name}.npy`))).data as ArrayLike<number | bigint>));
    return arrays.flat();
  }

  it('lists both stores up, on their hosts, with the shards each holds', async () => {
    const stores = await cli('stores', 'ls', '--json');
    expect(stores.code).toBe(0);
    const byId = Object.fromEntries(JSON.parse(stores.out).map((s: { id: string }) => [s.id, s]));
    expect(byId['store-a']).toMatchObject({ state: 'up', host: 'host-a', shards: 2, rows: ROWS.validation + ROWS.evaluation, heartbeatMs: 500 });
    expect(byId['store-b']).toMatchObject({ state: 'up', host: 'host-b', shards: 1, rows: ROWS.training });
    const show = await cli('features', 'show', featureSetId);
    expect(show.out).toMatch(/^store store-a: up \(host host-a, last seen [^)]+\) — 2 shards, 600 rows$/m);
    expect(show.out).toMatch(/^store store-b: up \(host host-b, last seen [^)]+\) — 1 shard, 3,000 rows$/m);
  });

  it('exports every split from the store that holds it, with none of the shards on the API\'s disk', async () => {
    const out = path.join(root, 'export');
    const run = await cli('features', 'export', featureSetId, '--format', 'npy', '--out', out);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    for (const split of ['training', 'validation', 'evaluation']) {
      for (const name of ['features', 'labels', 'image_ids'] as const) {
        expect(Array.from((await readNpy(path.join(out, split, `${name}.npy`))).data as ArrayLike<number | bigint>)).toEqual(await fromShards(split, name));
      }
    }
    expect(await fs.readdir(dirs.api)).toEqual([]);
    expect(await fs.readdir(dirs.trainer)).toEqual([]);
  }, 60000);

  it('a run waits for a store killed mid-run, showing it, and completes correctly once the store is back', async () => {
    const queued = await api('POST', '/runs', { featureSetId, epochs: EPOCHS, learningRate: 0.01, seed: 3 });
    expect(queued.status).toBe(202);
    const runId = queued.body.runId as string;
    await waitFor(async () => (await api('GET', `/runs/${runId}`)).body.epochsDone >= 2, 120000, 'the run did not finish two epochs');
    process.kill(storeB!.pids()['store-b']!, 'SIGKILL');
    await storeB!.exited;
    storeB = undefined;
    const killedAt = Date.now();

    let waiting: { store: string; since: string; reason: string } | undefined;
    await waitFor(
      async () => {
        const run = (await api('GET', `/runs/${runId}`)).body;
        if (run.status !== 'running') throw new Error(`run ${run.status} while store-b is down: ${run.error}`);
        waiting = run.phase?.waitingFor;
        return waiting !== undefined;
      },
      30000,
      'the run never said it waits for store-b',
    );
    expect(waiting).toMatchObject({ store: 'store-b', reason: expect.stringMatching(/^no answer for shard /) });
    expect(Date.parse(waiting!.since)).toBeGreaterThanOrEqual(killedAt - 1000);
    const shown = await cli('runs', 'show', runId);
    expect(shown.out).toMatch(/^now: .* · waiting for feature store "store-b" \(since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/m);
    const epochsWhileDown = (await api('GET', `/runs/${runId}`)).body.epochsDone;

    // An export of what store-b holds says so before a byte, naming the store and the shard.
    await waitFor(async () => (await api('GET', '/feature-stores')).body.find((s: { id: string }) => s.id === 'store-b').state === 'down', 10000, 'store-b never counted down');
    const refused = await fetch(`${apiUrl}/feature-sets/${featureSetId}/export?format=npy&split=training`, { headers: { authorization: `Bearer ${PROCESS_API_TOKEN}` } });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { message: string }).message).toMatch(/feature store "store-b" \(down, last seen [^)]+\) holds training shard 0 \(/);
    const show = await cli('features', 'show', featureSetId);
    expect(show.out).toMatch(/^store store-b: down \(host host-b, last seen [^)]+\) — 1 shard, 3,000 rows$/m);
    // The run is still where it was: it waits, it does not fail or skip rows.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const still = (await api('GET', `/runs/${runId}`)).body;
    expect(still).toMatchObject({ status: 'running', epochsDone: epochsWhileDown, phase: { waitingFor: { store: 'store-b' } } });

    await startStoreB();
    await waitFor(async () => ['succeeded', 'failed'].includes((await api('GET', `/runs/${runId}`)).body.status), 180000, 'the run did not end after store-b came back');
    const done = (await api('GET', `/runs/${runId}`)).body;
    expect(done).toMatchObject({ status: 'succeeded', epochsDone: EPOCHS, error: null, phase: null });
    const { rows: epochs } = await db.query('SELECT epoch FROM epoch_metrics WHERE run_id = $1 ORDER BY epoch', [runId]);
    expect(epochs.map((e) => e.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    const { rows: evaluations } = await db.query('SELECT split, accuracy, confusion FROM evaluations WHERE run_id = $1 ORDER BY split', [runId]);
    const bySplit = Object.fromEntries(evaluations.map((e) => [e.split, e]));
    expect(Object.keys(bySplit).sort()).toEqual(['evaluation', 'validation']);
    for (const split of ['validation', 'evaluation'] as const) {
      expect(bySplit[split].confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(ROWS[split]);
    }
    expect(bySplit.evaluation.accuracy).toBeGreaterThan(0.95);
  }, 400000);
});
