/**
 * `npm run demo [folder]`: the main job end to end on this machine, with embedded defaults.
 * Uses NATS and Postgres where they answer (else starts nats-server and an embedded PostgreSQL),
 * starts the services (two extractor replicas), then through the featx CLI, as a user would:
 * registers the dataset, extracts its features with the shared MobileNetV2, trains the best head
 * `--head auto` finds on them, prints and draws the evaluation report, and classifies a dozen
 * photos of the dataset's evaluation split, showing each one's true and predicted class.
 */
import * as path from 'node:path';
import { DataRoots } from '@featx/datasets';
import { DatasetsRepository, openDatabase } from '@featx/db';
import { FeatxConfig, loadConfig, REPO_ROOT } from '../libs/runtime/src/config';
import { table } from '../apps/cli/src/format';
import { runCli } from '../apps/cli/src/cli';
import { ensureLocalStack, localServiceEnv } from './local-stack';
import { launchServices, serviceInstances } from './service-launcher';
import { consoleAddress, ensureWebConsoleBuilt } from './web-console';

const DEFAULT_DATASET = path.resolve(REPO_ROOT, '../shared/datasets/clothing-small');
const DEFAULT_MODEL = path.resolve(REPO_ROOT, '../shared/models/mobilenet_v2_1.0_224');
/** Evaluation photos classified at the end, taken class by class. */
const SAMPLE_PHOTOS = 12;

async function main() {
  const folder = path.resolve(process.argv[2] ?? DEFAULT_DATASET);
  const config = loadConfig('api');
  const say = (line: string) => console.log(`[demo] ${line}`);
  await ensureWebConsoleBuilt(say);
  const stack = await ensureLocalStack({ natsUrl: config.nats.url, databaseUrl: config.database.url, stateDir: config.stateDir, log: say });
  const verbose = process.env.FEATX_DEMO_VERBOSE === 'true';
  const services = launchServices(serviceInstances(Number(process.env.FEATX_EXTRACTOR_REPLICAS ?? 2)), localServiceEnv(stack), (line) => {
    if (verbose || /"level":"(warn|error)"/.test(line)) console.log(line);
  });
  try {
    say('starting api, ingest, extractor, feature-store and trainer…');
    await services.ready();
    say(`web console: ${await consoleAddress(`http://${config.http.host}:${config.http.port}`, config.stateDir)}; it follows the extraction and the run live`);
    const run = async (args: string[], echo: boolean) => {
      // Long lists of photos are named by their count.
      const shown = args.filter((a) => !path.isAbsolute(a) || !/\.(jpe?g|png|webp|bmp|gif|tiff?)$/i.test(a));
      say(`featx ${shown.join(' ')}${shown.length < args.length ? ` (${args.length - shown.length} photos)` : ''}`);
      const out: string[] = [];
      const code = await runCli(['--api-url', `http://${config.http.host}:${config.http.port}`, ...args], (text) => {
        out.push(text);
        if (echo) console.log(text);
      });
      if (code !== 0) throw new Error(`featx ${args[0]} ${args[1]} failed (exit ${code})`);
      return out.join('\n');
    };
    const cli = (...args: string[]) => run(args, true);
    const added = JSON.parse(await cli('datasets', 'add', folder, '--json'));
    await cli('datasets', 'show', added.dataset.id);
    await cli('extract', added.dataset.id, '--model', process.env.FEATX_DEMO_MODEL ?? DEFAULT_MODEL, '--pool', 'avg');
    await cli('features', 'ls', '--dataset', added.dataset.id);
    // A page of the dataset's feature sets (the CLI prints one page: --limit 1000 holds any demo's).
    const sets = JSON.parse(await cli('features', 'ls', '--dataset', added.dataset.id, '--limit', '1000', '--json')) as { items: Array<{ id: string; pooling: string; status: string }> };
    const featureSet = sets.items.find((set) => set.pooling === 'avg' && set.status === 'complete');
    if (!featureSet) throw new Error('the extraction did not complete');
    const training = await cli('train', featureSet.id, '--head', 'auto');
    // `featx train` names the run it queued and exits 0 only once it succeeded.
    const runId = /run ([0-9a-f-]{36}) queued/.exec(training)?.[1];
    if (!runId) throw new Error('featx train did not name the run it queued');
    const trained = { id: runId };
    await cli('runs', 'report', trained.id, '--out', path.join(config.stateDir, 'demo-report'));
    await classifySample((...args) => run(args, false), config, stack.databaseUrl, added.dataset.id, trained.id, say);
    say(`done. \`npm run dev\` keeps the services running; the console is then at http://${config.http.host}:${config.http.port}/ and the API docs at /docs`);
  } finally {
    await services.stop();
    await stack.stop();
  }
}

/** A dozen photos of the evaluation split classified by the run, beside their true class. */
async function classifySample(cli: (...args: string[]) => Promise<string>, config: FeatxConfig, databaseUrl: string, datasetId: string, runId: string, say: (line: string) => void) {
  const database = openDatabase(databaseUrl, { maxConnections: 1 });
  try {
    const dataset = await new DatasetsRepository(database.db).get(datasetId);
    const root = (await DataRoots.open(config.dataRoots)).roots.find((r) => r.name === dataset?.root);
    if (!dataset || !root) throw new Error(`dataset ${datasetId} or its data root is gone`);
    const sample = await new DatasetsRepository(database.db).sampleImagesByClass(datasetId, 'evaluation', SAMPLE_PHOTOS);
    if (sample.length === 0) return say('the dataset has no evaluation photos to classify');
    const files = sample.map((image) => path.join(root.path, image.path));
    const { predictions } = JSON.parse(await cli('predict', runId, ...files, '--format', 'json')) as { predictions: Array<{ label: string | null; probability: number | null; error?: string }> };
    const rows = sample.map((image, i) => {
      const p = predictions[i];
      return [path.basename(image.path), image.label, p.label ?? `error: ${p.error}`, p.probability === null ? '' : p.probability.toFixed(3), p.label === image.label ? '✓' : '✗'];
    });
    say(`${SAMPLE_PHOTOS} photos of the evaluation split, classified by run ${runId.slice(0, 8)}:`);
    console.log(table(['photo', 'true class', 'predicted', 'probability', ''], rows));
    say(`${rows.filter((r) => r[4] === '✓').length}/${rows.length} right`);
  } finally {
    await database.close();
  }
}

main().catch((error) => {
  console.error(`[demo] ${error.message}`);
  process.exit(1);
});
