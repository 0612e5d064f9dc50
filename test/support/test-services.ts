import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FeatxConfig, loadConfig, ServiceName, startMessageHandlers } from '@featx/runtime';
import { ApiModule } from '../../apps/api/src/api.module';
import { configureApi } from '../../apps/api/src/configure-api';
import { IngestModule } from '../../apps/ingest/src/ingest.module';
import { FeatureStoreModule } from '../../apps/feature-store/src/feature-store.module';
import { ExtractorModule } from '../../apps/extractor/src/extractor.module';
import { TrainerModule } from '../../apps/trainer/src/trainer.module';
import { CliIo, runCli } from '../../apps/cli/src/cli';
import { createTestDatabase, TestDatabase } from './test-database';
import { testNamespace, TEST_NATS_URL } from './test-bus';

export const TEST_API_TOKEN = 'test-token-0123456789abcdef';

export interface TestServices {
  apiUrl: string;
  config: FeatxConfig;
  database: TestDatabase;
  namespace: string;
  stateDir: string;
  /** One more worker service in this process, with the others' settings (and `env` on top); closed with them. */
  startWorker(service: WorkerName, env?: Record<string, string>): Promise<INestApplication>;
  close(): Promise<void>;
}

export interface TestServicesOptions {
  /** FEATX_DATA_ROOTS for the services. */
  dataRoots: string;
  env?: Record<string, string>;
  /**
   * Worker services to run beside the API (default: ingest only); one with `env` runs with those
   * variables on top (e.g. two feature stores, each with its FEATX_STORE_ID and FEATX_FEATURES_DIR).
   */
  workers?: Array<WorkerName | { service: WorkerName; env: Record<string, string> }>;
}

type WorkerName = 'ingest' | 'feature-store' | 'extractor' | 'trainer';

const WORKER_MODULES = {
  ingest: (config: FeatxConfig) => IngestModule.register(config),
  'feature-store': (config: FeatxConfig) => FeatureStoreModule.register(config),
  extractor: (config: FeatxConfig) => ExtractorModule.register(config),
  trainer: (config: FeatxConfig) => TrainerModule.register(config),
};

/**
 * The API and worker services (ingest unless told otherwise) in this process, against the real NATS and Postgres, with a
 * database and a bus namespace of their own. `close` stops them and removes both.
 */
export async function startTestServices(options: TestServicesOptions): Promise<TestServices> {
  const database = await createTestDatabase();
  const namespace = testNamespace();
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-state-'));
  const env = {
    FEATX_NATS_URL: TEST_NATS_URL,
    FEATX_NAMESPACE: namespace,
    FEATX_DATABASE_URL: database.url,
    FEATX_DATA_ROOTS: options.dataRoots,
    FEATX_STATE_DIR: stateDir,
    FEATX_API_TOKEN: TEST_API_TOKEN,
    FEATX_LOG_LEVEL: 'error',
    FEATX_HTTP_PORT: '0',
    ...options.env,
  };
  const configFor = (service: ServiceName, extra: Record<string, string> = {}) => loadConfig(service, { ...env, ...extra });
  const apps: INestApplication[] = [];
  const startWorker = async (service: WorkerName, extra: Record<string, string> = {}) => {
    const app = await NestFactory.create(WORKER_MODULES[service](configFor(service, extra)), { logger: false });
    await app.init();
    apps.push(app);
    await startMessageHandlers(app);
    return app;
  };
  try {
    for (const worker of options.workers ?? ['ingest']) {
      const { service, env: extra } = typeof worker === 'string' ? { service: worker, env: {} } : worker;
      await startWorker(service, extra);
    }
    const apiConfig = configFor('api');
    const api = await startTestApi(apiConfig);
    apps.push(api.app);
    return {
      apiUrl: api.url,
      config: apiConfig,
      database,
      namespace,
      stateDir,
      startWorker,
      async close() {
        for (const app of apps.reverse()) await app.close();
        await deleteStreams(namespace);
        await database.drop();
        await fs.rm(stateDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const app of apps.reverse()) await app.close().catch(() => undefined);
    await database.drop();
    throw error;
  }
}

/** An API alone in this process, listening on a free port of 127.0.0.1 (e.g. a second API as if on another host). */
export async function startTestApi(config: FeatxConfig): Promise<{ app: INestApplication; url: string }> {
  const app = await NestFactory.create(ApiModule.register(config), { logger: false });
  try {
    configureApi(app, config);
    await app.listen(0, '127.0.0.1');
    return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
}

async function deleteStreams(namespace: string): Promise<void> {
  const { createTestBus } = await import('./test-bus');
  const t = await createTestBus(namespace);
  await t.cleanup();
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs the featx CLI in this process against a test API, capturing what it prints. */
export async function runTestCli(apiUrl: string, args: string[], io?: CliIo): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['--api-url', apiUrl, '--token', TEST_API_TOKEN, ...args], (t) => out.push(t), (t) => err.push(t), io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** One request to a test API (JSON in and out); `token: null` sends none. */
export async function callTestApi(apiUrl: string, method: string, route: string, body?: unknown, token: string | null = TEST_API_TOKEN) {
  const response = await fetch(`${apiUrl}${route}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}
