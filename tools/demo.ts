/**
 * `npm run demo [folder]`: the main job end to end on this machine, with embedded defaults.
 * Uses NATS and Postgres where they answer (else starts nats-server and an embedded PostgreSQL),
 * starts the services (two extractor replicas), then through the featx CLI, as a user would:
 * registers the dataset, extracts its features with the shared MobileNetV2, trains the tutorial's
 * MLP on them, prints and draws the evaluation report, and classifies the shared test photos.
 */
import * as path from 'node:path';
import { loadConfig, REPO_ROOT } from '../libs/runtime/src/config';
import { runCli } from '../apps/cli/src/cli';
import { ensureLocalStack, localServiceEnv } from './local-stack';
import { launchServices, serviceInstances } from './service-launcher';
import { ensureWebConsoleBuilt } from './web-console';

const DEFAULT_DATASET = path.resolve(REPO_ROOT, '../shared/datasets/clothing-small');
const DEFAULT_MODEL = path.resolve(REPO_ROOT, '../shared/models/mobilenet_v2_1.0_224');
const NEW_PHOTOS = path.resolve(REPO_ROOT, '../shared/models/test_images');

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
    say(`web console: http://${config.http.host}:${config.http.port}/ (sign in with the API token); it follows the extraction and the run live`);
    const cli = async (...args: string[]) => {
      say(`featx ${args.join(' ')}`);
      const out: string[] = [];
      const code = await runCli(['--api-url', `http://${config.http.host}:${config.http.port}`, ...args], (text) => {
        out.push(text);
        console.log(text);
      });
      if (code !== 0) throw new Error(`featx ${args[0]} ${args[1]} failed (exit ${code})`);
      return out.join('\n');
    };
    const added = JSON.parse(await cli('datasets', 'add', folder, '--json'));
    await cli('datasets', 'show', added.dataset.id);
    await cli('extract', added.dataset.id, '--model', process.env.FEATX_DEMO_MODEL ?? DEFAULT_MODEL, '--pool', 'avg');
    await cli('features', 'ls', '--dataset', added.dataset.id);
    const sets = JSON.parse(await cli('features', 'ls', '--dataset', added.dataset.id, '--json')) as Array<{ id: string; pooling: string; status: string }>;
    const featureSet = sets.find((set) => set.pooling === 'avg' && set.status === 'complete');
    if (!featureSet) throw new Error('the extraction did not complete');
    await cli('train', featureSet.id, '--epochs', '25');
    const runs = JSON.parse(await cli('runs', 'ls', '--feature-set', featureSet.id, '--json')) as Array<{ id: string; status: string }>;
    const run = runs.filter((r) => r.status === 'succeeded').at(-1)!;
    await cli('runs', 'report', run.id, '--out', path.join(config.stateDir, 'demo-report'));
    await cli('predict', run.id, NEW_PHOTOS);
    say(`done. \`npm run dev\` keeps the services running; the console is then at http://${config.http.host}:${config.http.port}/ and the API docs at /docs`);
  } finally {
    await services.stop();
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(`[demo] ${error.message}`);
  process.exit(1);
});
