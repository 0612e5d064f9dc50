import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import type { RunDetails, RunSummary } from '@featx/contracts';
import { selectSharedWinner } from '@featx/learning';
import { callTestApi, runTestCli, startTestServices, TestServices } from './support/test-services';
import { createSyntheticFeatureSet } from './support/synthetic-features';
import { launchServices, LaunchedServices } from '../tools/service-launcher';

const CLASSES = ['alpha', 'beta', 'gamma'];
// Enough rows in batches of 8 that a share trains for seconds: both replicas claim some.
const ROWS = { training: 1600, validation: 240, evaluation: 120 };
const FINISHED = ['succeeded', 'failed', 'cancelled'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `--head auto` split into search shares, against the real NATS and Postgres with two trainer
 * processes (each with its own artifacts folder, as on two hosts): the shares go to both, the parent
 * adopts the best candidate across them through the artifacts bucket, a share whose trainer is
 * killed is resumed by the other, and cancelling the parent cancels its shares.
 */
describe('head auto in search shares over two trainer replicas', () => {
  let root: string;
  let services: TestServices;
  let db: Client;
  let trainers: LaunchedServices;
  const lines: string[] = [];

  beforeAll(async () => {
    root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-shares-')));
    services = await startTestServices({
      dataRoots: `data=${root}`,
      workers: ['feature-store'],
      env: { FEATX_FEATURES_DIR: path.join(root, 'features'), FEATX_STORE_ID: 'store-s' },
    });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    const env = {
      ...process.env,
      FEATX_DATABASE_URL: services.database.url,
      FEATX_NAMESPACE: services.namespace,
      FEATX_MIGRATE_ON_START: 'false',
      FEATX_RUN_STALE_MS: '3000',
      // A run that leaves searchShares open is split in three.
      FEATX_SEARCH_SHARES: '3',
      FEATX_TF_BACKEND: 'wasm',
      FEATX_LOG_LEVEL: 'warn',
    };
    trainers = launchServices(
      [1, 2].map((n) => ({ service: 'trainer' as const, label: `trainer-${n}`, port: 3940 + n * 10, env: { FEATX_ARTIFACTS_DIR: path.join(root, `artifacts-${n}`) } })),
      env,
      (line) => lines.push(line),
    );
    await trainers.ready(90000);
  }, 120000);

  afterAll(async () => {
    await trainers?.stop(5000);
    await db?.end();
    await services?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runTestCli(services.apiUrl, args);
  const details = async (runId: string) => (await callTestApi(services.apiUrl, 'GET', `/runs/${runId}`)).body as RunDetails;
  const pidOf = (worker: string | null) => Number(worker?.split('-').pop());

  /** Polls the run until it has finished, keeping every phase it showed and every share's trainer. */
  async function follow(runId: string, seconds: number, onPoll?: (run: RunDetails) => Promise<void>) {
    const phases = new Set<string>();
    for (let i = 0; i < seconds * 4; i++) {
      const run = await details(runId).catch(() => undefined);
      if (run?.phase) phases.add(run.phase.step);
      if (run && onPoll) await onPoll(run);
      if (run && FINISHED.includes(run.status)) return { run, phases };
      await sleep(250);
    }
    throw new Error(`run ${runId} did not finish in ${seconds} s; trainer log tail:\n${lines.slice(-30).join('\n')}`);
  }

  it('spreads the shares over both replicas; the parent adopts the best candidate across them, with the whole leaderboard', async () => {
    // Shares that outlast the trainers' 1 s poll: a trainer that frees its slot claims the next share
    // at once, so with shares of a fraction of a second one replica could take all four before the
    // other polls (seen once in CI, under load).
    const rows = { ...ROWS, training: 6400 };
    const { featureSetId } = await createSyntheticFeatureSet(db, { classes: CLASSES, dim: 32, rows, separable: true, seed: 21, storeId: 'store-s', featuresDir: path.join(root, 'features') });
    const queued = await cli('train', featureSetId, '--head', 'auto', '--epochs', '5', '--batch-size', '8', '--search-shares', '4', '--no-wait', '--json');
    expect(queued.code).toBe(0);
    const { runId } = JSON.parse(queued.out);
    const { run, phases } = await follow(runId, 400);
    expect(run).toMatchObject({ status: 'succeeded', kind: 'model', parentRunId: null });
    expect(phases).toContain('waiting-for-shares');

    // Four shares of eleven candidates, every one succeeded, trained by both replicas.
    expect(run.shares!.map((s) => [s.index, s.status, s.positions.length, s.seed, s.knn])).toEqual([
      [0, 'succeeded', 11, 42, true],
      [1, 'succeeded', 11, 42, false],
      [2, 'succeeded', 11, 42, false],
      [3, 'succeeded', 11, 42, false],
    ]);
    expect(new Set(run.shares!.map((s) => pidOf(s.worker)))).toEqual(new Set(Object.values(trainers.pids())));

    // The whole grid and the baseline on the parent's leaderboard; the chosen one is the best across the shares by the search's rule.
    const { rows: candidates } = await db.query('SELECT position, name, outcome, val_accuracy, val_loss, chosen FROM run_candidates WHERE run_id = $1 ORDER BY position', [runId]);
    expect(candidates.map((c) => c.position)).toEqual(Array.from({ length: 45 }, (_, i) => i));
    expect(candidates.at(-1).outcome).toBe('baseline');
    const best = selectSharedWinner(candidates.map((c) => ({ position: c.position, outcome: c.outcome, valAccuracy: c.val_accuracy, valLoss: c.val_loss })));
    expect(candidates.filter((c) => c.chosen).map((c) => c.position)).toEqual([best.position]);
    expect(run.config.search).toMatchObject({ chosen: candidates[best.position].name, candidates: 44, shares: 4, epochs: 5 });
    expect(run.config.searchShares).toBeUndefined();
    // Each share chose its own best; the parent's winner is one of them, and its epochs are that share's.
    const owner = run.shares!.find((s) => s.positions.includes(best.position))!;
    const { rows: ownerChosen } = await db.query('SELECT position FROM run_candidates WHERE run_id = $1 AND chosen', [owner.id]);
    expect(ownerChosen).toEqual([{ position: best.position }]);
    const epochsOf = async (id: string) => (await db.query('SELECT epoch, train_loss, val_loss, val_accuracy FROM epoch_metrics WHERE run_id = $1 ORDER BY epoch', [id])).rows;
    expect(await epochsOf(runId)).toEqual(await epochsOf(owner.id));

    // The parent is a model: evaluated and published; the shares published their best candidate only.
    const { rows: [evaluation] } = await db.query("SELECT accuracy FROM evaluations WHERE run_id = $1 AND split = 'evaluation'", [runId]);
    expect(evaluation.accuracy).toBeGreaterThan(0.95);
    const published = (await db.query('SELECT id, published_artifacts FROM training_runs WHERE id = $1 OR parent_run_id = $1', [runId])).rows;
    for (const row of published) {
      const names = row.published_artifacts.map((a: { name: string }) => a.name);
      if (row.id === runId) expect(names).toEqual(expect.arrayContaining(['model/model.json', 'model/featx-head.json']));
      else expect(names.every((n: string) => n.startsWith('candidate/'))).toBe(true);
    }

    // Lists show the run, not its shares, unless asked for them.
    const listed = (await callTestApi(services.apiUrl, 'GET', `/runs?featureSetId=${featureSetId}`)).body.items as RunSummary[];
    expect(listed.map((r) => r.id)).toEqual([runId]);
    const shares = (await callTestApi(services.apiUrl, 'GET', `/runs?parentRunId=${runId}`)).body.items as RunSummary[];
    expect(shares.map((r) => [r.kind, r.parentRunId])).toEqual(Array(4).fill(['search-share', runId]));
    const share = await details(shares[1].id);
    expect(share.share).toMatchObject({ index: 1, of: 4, seed: 42 });
    expect(share.candidates!.map((c) => c.name)).toHaveLength(11);
    const shown = await cli('runs', 'show', runId);
    expect(shown.out).toMatch(/search split into 4 shares \(child runs\)/);
    expect(shown.out).toMatch(/head chosen by --head auto from 45 candidates/);
    const sharesListed = await cli('runs', 'ls', '--shares-of', runId);
    expect(sharesListed.out).toContain(shares[3].id);
  }, 480000);

  it('resumes a share whose trainer was killed on the other replica; cancelling a run cancels its shares', async () => {
    // Shares long enough to be seen running past their first epoch by a poll every 250 ms (with
    // sub-second shares every share once finished between two polls in CI, and none was killed).
    const rows = { ...ROWS, training: 6400 };
    const { featureSetId } = await createSyntheticFeatureSet(db, { classes: CLASSES, dim: 32, rows, separable: true, seed: 22, storeId: 'store-s', featuresDir: path.join(root, 'features') });
    // searchShares left open: the trainers' FEATX_SEARCH_SHARES, on record once the run starts.
    const queued = await cli('train', featureSetId, '--head', 'auto', '--epochs', '5', '--batch-size', '8', '--no-wait', '--json');
    const { runId } = JSON.parse(queued.out);
    let killed: { shareId: string; pid: number } | undefined;
    const { run } = await follow(runId, 400, async (polled) => {
      if (killed) return;
      // A share some way into its search: its trainer dies.
      const victim = polled.shares?.find((s) => s.status === 'running' && s.phase?.step === 'choosing-head' && s.phase.done >= 1);
      if (!victim) return;
      killed = { shareId: victim.id, pid: pidOf(victim.worker) };
      process.kill(killed.pid, 'SIGKILL');
    });
    expect(killed).toBeDefined();
    expect(run.status).toBe('succeeded');
    expect(run.config.search).toMatchObject({ shares: 3 });
    expect(run.shares).toHaveLength(3);
    const resumed = run.shares!.find((s) => s.id === killed!.shareId)!;
    expect(resumed.status).toBe('succeeded');
    expect(resumed.resumes).toBeGreaterThanOrEqual(1);
    expect(pidOf(resumed.worker)).not.toBe(killed!.pid);
    const { rows: [{ n }] } = await db.query('SELECT count(*)::int AS n FROM run_candidates WHERE run_id = $1', [runId]);
    expect(n).toBe(45);

    // The one replica left: a cancel of the run reaches its shares, queued and running (rows enough that none ends first).
    const large = await createSyntheticFeatureSet(db, { classes: CLASSES, dim: 32, rows: { ...ROWS, training: 40000 }, separable: true, seed: 23, storeId: 'store-s', featuresDir: path.join(root, 'features') });
    const second = await cli('train', large.featureSetId, '--head', 'auto', '--epochs', '25', '--batch-size', '4', '--search-shares', '3', '--no-wait', '--json');
    const secondId = JSON.parse(second.out).runId as string;
    for (let i = 0; i < 600 && !(await details(secondId)).shares?.some((s) => s.status === 'running'); i++) await sleep(250);
    expect((await cli('runs', 'cancel', secondId)).code).toBe(0);
    const { run: cancelled } = await follow(secondId, 120);
    expect(cancelled.status).toBe('cancelled');
    for (let i = 0; i < 120 && (await details(secondId)).shares!.some((s) => !FINISHED.includes(s.status)); i++) await sleep(250);
    expect((await details(secondId)).shares!.map((s) => s.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  }, 600000);
});
