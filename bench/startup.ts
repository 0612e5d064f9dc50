/**
 * `npm run bench:startup`: how long each service takes from process start to its "service started"
 * log line and to its first ready /health/ready, and its RSS then, when it runs
 *   - its TypeScript sources through the swc hook with a cold transform cache (a fresh container of
 *     the single-stage image: every module compiled at start),
 *   - the same with a warm cache (a second `npm run dev`),
 *   - the build (`node dist/apps/<app>/main.js`, as the image runs it), and the build with
 *     --enable-source-maps.
 * One service at a time, BENCH_RUNS runs each (default 5), against the machine's NATS and Postgres
 * (a migrated database and a namespace of the bench's own). Run `npm run build` first.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SERVICE_NAMES, ServiceName } from '@featx/runtime';
import { createTestBus, createTestDatabase, testNamespace, TEST_NATS_URL } from '../test/support';
import { launchServices, ServiceCode } from '../tools/service-launcher';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PORT = 3950;
const REPO = path.resolve(__dirname, '..');
const CLOCK_TICKS = 100; // USER_HZ on Linux

interface Variant {
  name: string;
  code: ServiceCode;
  env: (runDir: string) => NodeJS.ProcessEnv;
}

const VARIANTS: Variant[] = [
  { name: 'sources, cold swc cache', code: 'sources', env: (runDir) => ({ SWC_NODE_CACHE_DIR: path.join(runDir, 'swc-cache') }) },
  // The default cache folder, filled by the cold runs' first run of each service.
  { name: 'sources, warm swc cache', code: 'sources', env: () => ({}) },
  { name: 'build', code: 'build', env: () => ({}) },
  { name: 'build, --enable-source-maps', code: 'build', env: () => ({ NODE_OPTIONS: '--enable-source-maps' }) },
];

interface Sample {
  startedMs: number;
  readyMs: number;
  /** User + system CPU time until ready: steadier than wall time on a shared machine. */
  cpuMs: number;
  rssMiB: number;
}

async function startOnce(service: ServiceName, variant: Variant, baseEnv: NodeJS.ProcessEnv): Promise<Sample> {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'featx-startup-'));
  let startedMs = 0;
  const t0 = performance.now();
  const launched = launchServices(
    [{ service, label: service, port: PORT }],
    { ...baseEnv, ...variant.env(runDir), FEATX_STATE_DIR: runDir },
    (line) => {
      if (startedMs === 0 && line.includes('"msg":"service started"')) startedMs = performance.now() - t0;
    },
    variant.code,
  );
  try {
    let readyMs = 0;
    while (readyMs === 0) {
      if (performance.now() - t0 > 120000) throw new Error(`${service} (${variant.name}) not ready after 120 s`);
      const ok = await fetch(`http://127.0.0.1:${PORT}/health/ready`).then((r) => r.ok, () => false);
      if (ok) readyMs = performance.now() - t0;
      else await new Promise((r) => setTimeout(r, 10));
    }
    const pid = launched.pids()[service];
    const rssMiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
    // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised command): utime, stime in ticks.
    const [utime, stime] = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).map(Number);
    return { startedMs, readyMs, cpuMs: ((utime + stime) * 1000) / CLOCK_TICKS, rssMiB };
  } finally {
    await launched.stop(10000);
    rmSync(runDir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const missing = SERVICE_NAMES.filter((s) => !existsSync(path.join(REPO, `dist/apps/${s}/main.js`)));
  if (missing.length > 0) throw new Error(`no build of ${missing.join(', ')}: run npm run build first`);
  const database = await createTestDatabase();
  const namespace = testNamespace();
  const env = {
    ...process.env,
    FEATX_NATS_URL: TEST_NATS_URL,
    FEATX_NAMESPACE: namespace,
    FEATX_DATABASE_URL: database.url,
    FEATX_API_TOKEN: 'bench-token-0123456789',
    FEATX_LOG_LEVEL: 'info',
  };
  const rows: string[] = [];
  try {
    for (const service of SERVICE_NAMES) {
      for (const variant of VARIANTS) {
        const samples: Sample[] = [];
        // One run first, not counted: the OS file cache (and for the warm variant, swc's cache) filled.
        for (let run = -1; run < RUNS; run++) {
          const sample = await startOnce(service, variant, env);
          if (run >= 0) samples.push(sample);
        }
        const row = `| ${service} | ${variant.name} | ${median(samples.map((s) => s.startedMs)).toFixed(0)} | ${median(samples.map((s) => s.readyMs)).toFixed(0)} (${Math.min(...samples.map((s) => s.readyMs)).toFixed(0)}–${Math.max(...samples.map((s) => s.readyMs)).toFixed(0)}) | ${median(samples.map((s) => s.cpuMs)).toFixed(0)} | ${median(samples.map((s) => s.rssMiB)).toFixed(0)} |`;
        console.log(row);
        rows.push(row);
      }
    }
  } finally {
    await database.drop();
    await (await createTestBus(namespace)).cleanup();
  }
  console.log(`\n${RUNS} runs each, medians; ready: min–max\n`);
  console.log('| service | runs | to "service started" (ms) | to /health/ready (ms) | CPU until ready (ms) | RSS when ready (MiB) |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
