/**
 * `npm run bench:search-shares`: `--head auto` wall time with one and two trainer replicas, on
 * clothing-small's pooled MobileNetV2 features (extracted here first: ingest, extractor and feature
 * store processes against a database and bus namespace of their own). Each configuration starts its
 * trainer processes afresh, publishes one run and times it from the command to its end; the load
 * average is printed beside each. BENCH_CONFIGS picks the configurations, e.g. `1x1,1x3,2x3,2x6`
 * (trainers x searchShares; default that list).
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { connectBus, publish } from '@featx/bus';
import { createRunCommand, extractFeaturesCommand, registerDatasetCommand, trainingConfigSchema } from '@featx/contracts';
import { createTestBus, createTestDatabase, SHARED_DIR, testNamespace } from '../test/support';
import { launchServices, serviceInstances } from '../tools/service-launcher';
import { runBenchMain } from './bench-main';
import { cpuSeconds } from './proc-stats';

const CONFIGS = (process.env.BENCH_CONFIGS ?? '1x1,1x3,2x3,2x6').split(',').map((c) => {
  const [trainers, shares] = c.split('x').map(Number);
  if (!(trainers >= 1 && shares >= 1)) throw new Error(`BENCH_CONFIGS: "${c}" is not <trainers>x<shares>`);
  return { trainers, shares };
});
const MOBILENET = path.join(SHARED_DIR, 'models/mobilenet_v2_1.0_224');
const CLOTHING = path.join(SHARED_DIR, 'datasets/clothing-small');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

async function main() {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-bench-shares-'));
  const database = await createTestDatabase();
  const namespace = testNamespace();
  const env = {
    ...process.env,
    FEATX_DATABASE_URL: database.url,
    FEATX_NAMESPACE: namespace,
    FEATX_MIGRATE_ON_START: 'false',
    FEATX_DATA_ROOTS: `shared=${SHARED_DIR}`,
    FEATX_FEATURES_DIR: path.join(root, 'features'),
    FEATX_LOG_LEVEL: 'warn',
  };
  const logErrors = (line: string) => /"level":"error"/.test(line) && console.error(line);
  const stack = launchServices(serviceInstances(1, 700).filter((i) => ['ingest', 'feature-store', 'extractor'].includes(i.service)), env, logErrors);
  const db = new Client({ connectionString: database.url });
  const bus = await connectBus({ url: process.env.FEATX_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'bench-search-shares', namespace });
  try {
    await stack.ready(120000);
    await db.connect();
    await publish(bus, registerDatasetCommand, { v: 1, path: CLOTHING, layout: 'split-class', seed: 42 });
    let datasetId: string | undefined;
    while (!datasetId) {
      datasetId = (await db.query("SELECT id FROM datasets WHERE status = 'ready'")).rows[0]?.id;
      await sleep(200);
    }
    const extractStarted = Date.now();
    await publish(bus, extractFeaturesCommand, { v: 1, datasetId, model: MOBILENET, pooling: 'avg', dtype: 'float32', engine: 'auto', batchSize: 64 });
    let featureSetId: string | undefined;
    for (;;) {
      const set = (await db.query('SELECT id, status, error, stored FROM feature_sets')).rows[0];
      if (set?.status === 'failed') throw new Error(`extraction failed: ${set.error}`);
      if (set?.status === 'complete') {
        featureSetId = set.id;
        console.log(`clothing-small pooled (avg, 1,280): ${set.stored} vectors in ${((Date.now() - extractStarted) / 1000).toFixed(0)} s (load ${load()})`);
        break;
      }
      await sleep(1000);
    }
    for (const { trainers, shares } of CONFIGS) {
      const instances = Array.from({ length: trainers }, (_, n) => ({ service: 'trainer' as const, label: `trainer-${n + 1}`, port: 3960 + n * 10, env: { FEATX_ARTIFACTS_DIR: path.join(root, `artifacts-${n + 1}`) } }));
      const launched = launchServices(instances, env, logErrors);
      try {
        await launched.ready(120000);
        const runId = randomUUID();
        const loadBefore = load();
        const cpuBefore = Object.values(launched.pids()).map(cpuSeconds);
        const started = Date.now();
        await publish(bus, createRunCommand, { v: 1, runId, ...trainingConfigSchema.parse({ featureSetId, head: 'auto', searchShares: shares }) });
        let run;
        for (;;) {
          run = (await db.query('SELECT status, error, config FROM training_runs WHERE id = $1', [runId])).rows[0];
          if (run && ['succeeded', 'failed', 'cancelled'].includes(run.status)) break;
          await sleep(500);
        }
        const seconds = (Date.now() - started) / 1000;
        const cpu = Object.values(launched.pids()).map((pid, i) => cpuSeconds(pid) - cpuBefore[i]);
        if (run.status !== 'succeeded') throw new Error(`run ${runId} ${run.status}: ${run.error}`);
        const evaluation = (await db.query("SELECT accuracy FROM evaluations WHERE run_id = $1 AND split = 'evaluation'", [runId])).rows[0];
        const chosen = (await db.query('SELECT name, val_accuracy FROM run_candidates WHERE run_id = $1 AND chosen', [runId])).rows[0];
        const parts = (await db.query("SELECT worker, extract(epoch FROM finished_at - started_at)::float AS s FROM training_runs WHERE parent_run_id = $1 ORDER BY (share->>'index')::int", [runId])).rows;
        const workers = new Set(parts.map((p) => p.worker)).size;
        console.log(
          `${trainers} trainer(s), searchShares ${shares}: ${seconds.toFixed(1)} s (load before ${loadBefore}, after ${load()}; trainer CPU ${cpu.map((c) => `${c.toFixed(0)} s`).join(' + ')}); chosen ${chosen.name} ` +
            `(validation ${(chosen.val_accuracy * 100).toFixed(1)}%, evaluation ${(evaluation.accuracy * 100).toFixed(1)}%)` +
            (parts.length ? `; shares ${parts.map((p) => `${p.s.toFixed(1)} s`).join(', ')} on ${workers} trainer(s)` : ''),
        );
      } finally {
        await launched.stop(5000);
      }
    }
  } finally {
    await stack.stop(5000);
    await bus.nc.close();
    await db.end();
    await database.drop();
    await (await createTestBus(namespace)).cleanup();
    await fs.rm(root, { recursive: true, force: true });
  }
}

runBenchMain(main);
