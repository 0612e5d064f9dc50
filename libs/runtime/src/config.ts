import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { formatIssues, HEAD_ENGINE_CHOICES, HeadEngineChoice, MAX_SEARCH_SHARES } from '@featx/contracts';

/**
 * The repository root (in the image, /app); local defaults (data roots, state folder) are relative
 * to it. Found as the nearest folder above with a package.json, so that the sources and a build
 * in dist/apps/<app> (tools/build.ts) agree.
 */
export const REPO_ROOT = findPackageRoot(__dirname);

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (dir === path.dirname(dir)) throw new Error(`no package.json in ${from} or any folder above it: featx runs from its repository or image`);
  }
}

export const SERVICE_NAMES = ['api', 'ingest', 'extractor', 'feature-store', 'trainer'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const DEFAULT_HTTP_PORTS: Record<ServiceName, number> = {
  api: 3000,
  ingest: 3001,
  extractor: 3002,
  'feature-store': 3003,
  trainer: 3004,
};

/** Where a trainer reads shard rows: the feature store over NATS, the shard files, or files where present. */
export const TRAINER_READ_MODES = ['bus', 'direct', 'auto'] as const;

/**
 * Stored bytes of shard reads a trainer keeps in flight (FEATX_TRAINER_READ_AHEAD_MB), 8 MiB:
 * eight 1 MiB replies. At 16 the feature store's replies waited long enough to outlive
 * young-generation collections, and the store spent 2.3-3.5 CPU s per GB in major collections
 * instead of 0.9-1.2 (`npm run bench:read`, eight paired runs: the bus 530-681 MB/s at 8 MiB
 * against 469-626 at 16; README "Training").
 */
export const DEFAULT_TRAINER_READ_AHEAD_MB = 8;
export type TrainerReadMode = (typeof TRAINER_READ_MODES)[number];

const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Every setting featx reads, from environment variables. The README's configuration table is
 * this schema in prose; keep them together.
 */
const envSchema = z.object({
  FEATX_NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  FEATX_NATS_USER: z.string().optional(),
  FEATX_NATS_PASSWORD: z.string().optional(),
  FEATX_NATS_TOKEN: z.string().optional(),
  FEATX_NATS_PING_INTERVAL_MS: z.coerce.number().int().min(1000).max(600000).default(10000),
  FEATX_NAMESPACE: z.string().default('featx'),
  FEATX_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  FEATX_DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/featx'),
  FEATX_MIGRATE_ON_START: booleanString.default(true),
  FEATX_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(0).default(30000),
  // Local default: the folder above the repository, so `../shared/...` works from a checkout.
  FEATX_DATA_ROOTS: z.string().default(`local=${path.resolve(REPO_ROOT, '..')}`),
  FEATX_STATE_DIR: z.string().default(path.join(REPO_ROOT, '.featx')),
  FEATX_HTTP_HOST: z.string().default('127.0.0.1'),
  FEATX_HTTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  FEATX_API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  FEATX_API_TOKEN_FILE: z.string().optional(),
  FEATX_AUTH_DISABLED: booleanString.default(false),
  FEATX_API_BODY_LIMIT: z.string().default('1mb'),
  FEATX_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  FEATX_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(20000),
  FEATX_ACK_WAIT_MS: z.coerce.number().int().min(1000).optional(),
  FEATX_FEATURES_DIR: z.string().optional(),
  FEATX_STORE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1-64 letters, digits, _ . -').optional(),
  FEATX_SHARD_MAX_ROWS: z.coerce.number().int().positive().default(50000),
  FEATX_STORE_HOST: z.string().min(1).max(255).optional(),
  FEATX_STORE_HEARTBEAT_MS: z.coerce.number().int().min(100).max(600000).default(5000),
  FEATX_STORE_READ_TIMEOUT_MS: z.coerce.number().int().min(100).max(600000).default(30000),
  FEATX_EXPORT_STORE_WAIT_MS: z.coerce.number().int().min(0).default(60000),
  FEATX_TRAINER_STORE_WAIT_MS: z.coerce.number().int().min(0).default(0),
  FEATX_TF_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  FEATX_WEIGHTS_DIR: z.string().optional(),
  FEATX_WEIGHTS_DOWNLOAD: booleanString.default(true),
  FEATX_ONNX_THREADS: z.coerce.number().int().min(1).max(256).optional(),
  FEATX_ONNX_PROVIDERS: z
    .string()
    .regex(/^[a-z]+(,[a-z]+)*$/, 'a comma-separated list such as cuda,cpu')
    .default('cpu')
    .transform((v) => v.split(',')),
  FEATX_ONNX_CACHE_DIR: z.string().optional(),
  FEATX_ONNX_BATCH_SIZE: z.coerce.number().int().min(1).max(256).optional(),
  FEATX_EXTRACT_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  FEATX_ARTIFACTS_DIR: z.string().optional(),
  FEATX_THUMBNAILS_DIR: z.string().optional(),
  FEATX_TRAINER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  FEATX_SEARCH_SHARES: z.coerce.number().int().min(1).max(MAX_SEARCH_SHARES).default(1),
  FEATX_TRAINER_READ: z.enum(TRAINER_READ_MODES).default('bus'),
  FEATX_TRAINER_READ_AHEAD_MB: z.coerce.number().positive().max(4096).default(DEFAULT_TRAINER_READ_AHEAD_MB),
  FEATX_TRAINER_ENGINE: z.enum(HEAD_ENGINE_CHOICES).default('auto'),
  /** Training rows (float32) a `head: auto` search holds for its converged candidates; a larger split is fit on a sample this size. */
  FEATX_TRAINER_CONVERGED_MB: z.coerce.number().positive().max(1 << 20).default(256),
  FEATX_RUN_STALE_MS: z.coerce.number().int().min(1000).default(30000),
});

export interface FeatxConfig {
  service: ServiceName;
  nats: {
    url: string;
    user?: string;
    password?: string;
    token?: string;
    /** Round trips to the node this often; two unanswered and the client moves to another node. */
    pingIntervalMs: number;
    namespace: string;
    /** Copies of every stream and of the artifacts bucket: 1 on one NATS server, 3 on a 3-node JetStream cluster. */
    streamReplicas: number;
  };
  database: {
    url: string;
    migrateOnStart: boolean;
    /** Postgres ends a session idle in a transaction this long, releasing its locks (a host cut off mid-transaction); 0 = never. */
    idleInTransactionTimeoutMs: number;
  };
  dataRoots: string;
  stateDir: string;
  http: { host: string; port: number };
  api: {
    token?: string;
    tokenFile?: string;
    authDisabled: boolean;
    bodyLimit: string;
    /** The API's cache of image thumbnails, by content hash and size. */
    thumbnailsDir: string;
  };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  shutdownTimeoutMs: number;
  /**
   * Overrides the ack wait of the extractor's and feature store's consumers (120 s and 60 s): how
   * long a killed replica's messages wait before they are handed to another.
   */
  ackWaitMs?: number;
  features: {
    /** Root folder of the feature store's shards. */
    dir: string;
    /** Names this feature-store replica's shards; stable across restarts of the same replica. */
    storeId: string;
    shardMaxRows: number;
    /** The host this store records in the registry (FEATX_STORE_HOST, default the host name). */
    host: string;
    /** How often a feature store records itself in the registry; readers count it down after MISSED_HEARTBEATS_DOWN. */
    heartbeatMs: number;
    /** How long a reader waits for one reply of a feature store before asking again. */
    readTimeoutMs: number;
    /** API: how long an export waits for a store that stopped answering mid-stream before it cuts the download. */
    exportWaitMs: number;
  };
  vision: {
    backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
    /** Where downloaded network weights are cached. */
    weightsDir?: string;
    /** Whether missing published weights (ResNet-50) may be downloaded. */
    weightsDownload: boolean;
    /** Work items an extractor holds at once: one is decoded while another runs through the network. */
    extractConcurrency: number;
    /** How this process runs ONNX Runtime (the onnx engine). */
    onnx: {
      /** Intra-op threads; default the cores the process may use. */
      threads?: number;
      /** e.g. ['cuda', 'cpu'] with a CUDA build of onnxruntime-node; default ['cpu']. */
      executionProviders: string[];
      /** TF.js networks exported to ONNX, by content hash. */
      cacheDir: string;
      /** Images per forward pass; default the engine's. */
      batchSize?: number;
    };
  };
  training: {
    /**
     * The trainer's own folder: checkpoints (resume points) and the model it publishes, one folder
     * per run. Only the trainer reads it; every other service gets the published artifacts over NATS.
     */
    artifactsDir: string;
    /** Runs one trainer process trains at once. */
    concurrency: number;
    /** Search shares of a `head: auto` run that leaves searchShares open (1: searched in one trainer). */
    searchShares: number;
    /** A running run whose heartbeat is older than this is taken over and resumed from its checkpoint. */
    staleAfterMs: number;
    /**
     * bus (default, any host): rows from the feature store over NATS; direct: from the shard
     * files under `features.dir` (the store's host or a shared disk); auto: files where present.
     */
    read: TrainerReadMode;
    /** Stored bytes of shard reads in flight ahead of training, to hide each read's latency. */
    readAheadBytes: number;
    /** How long a run waits for a feature store that does not answer before it fails; Infinity (0 in the environment): until it answers. */
    storeWaitMs: number;
    /** What runs the heads' steps (HEAD_ENGINE_CHOICES); `auto` = the fastest this trainer can load. */
    engine: HeadEngineChoice;
    /** Bytes of training rows a `head: auto` search holds for its converged candidates (a larger split: a sample this size). */
    convergedMaxBytes: number;
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Secrets that may come from a file instead of the environment (Docker/Kubernetes secrets):
 * `<NAME>_FILE` names a file whose content, trimmed, is the value. Setting both is an error.
 */
export const SECRET_FILE_VARIABLES = ['FEATX_NATS_PASSWORD', 'FEATX_NATS_TOKEN', 'FEATX_DATABASE_URL'] as const;

/** The environment with each `<NAME>_FILE` of SECRET_FILE_VARIABLES read into `<NAME>`. */
export function resolveSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const resolved: NodeJS.ProcessEnv = { ...env };
  for (const name of SECRET_FILE_VARIABLES) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      throw new ConfigError(`invalid configuration: variable "${name}" and variable "${name}_FILE" are both set; set one of them`);
    }
    let content: string;
    try {
      content = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new ConfigError(`invalid configuration: variable "${name}_FILE": cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (content === '') throw new ConfigError(`invalid configuration: variable "${name}_FILE": ${file} is empty`);
    resolved[name] = content;
  }
  return resolved;
}

export function loadConfig(service: ServiceName, env: NodeJS.ProcessEnv = process.env): FeatxConfig {
  const parsed = envSchema.safeParse(resolveSecretFiles(env));
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration: ${formatIssues(parsed.error).replace(/field "/g, 'variable "')}`);
  }
  const e = parsed.data;
  return {
    service,
    nats: {
      url: e.FEATX_NATS_URL,
      user: e.FEATX_NATS_USER,
      password: e.FEATX_NATS_PASSWORD,
      token: e.FEATX_NATS_TOKEN,
      pingIntervalMs: e.FEATX_NATS_PING_INTERVAL_MS,
      namespace: e.FEATX_NAMESPACE,
      streamReplicas: e.FEATX_STREAM_REPLICAS,
    },
    database: { url: e.FEATX_DATABASE_URL, migrateOnStart: e.FEATX_MIGRATE_ON_START, idleInTransactionTimeoutMs: e.FEATX_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS },
    dataRoots: e.FEATX_DATA_ROOTS,
    stateDir: path.resolve(e.FEATX_STATE_DIR),
    http: { host: e.FEATX_HTTP_HOST, port: e.FEATX_HTTP_PORT ?? DEFAULT_HTTP_PORTS[service] },
    api: {
      token: e.FEATX_API_TOKEN,
      tokenFile: e.FEATX_API_TOKEN_FILE,
      authDisabled: e.FEATX_AUTH_DISABLED,
      bodyLimit: e.FEATX_API_BODY_LIMIT,
      thumbnailsDir: path.resolve(e.FEATX_THUMBNAILS_DIR ?? path.join(e.FEATX_STATE_DIR, 'thumbnails')),
    },
    logLevel: e.FEATX_LOG_LEVEL,
    shutdownTimeoutMs: e.FEATX_SHUTDOWN_TIMEOUT_MS,
    ackWaitMs: e.FEATX_ACK_WAIT_MS,
    features: {
      dir: path.resolve(e.FEATX_FEATURES_DIR ?? path.join(e.FEATX_STATE_DIR, 'features')),
      storeId: e.FEATX_STORE_ID ?? os.hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64),
      shardMaxRows: e.FEATX_SHARD_MAX_ROWS,
      host: e.FEATX_STORE_HOST ?? os.hostname(),
      heartbeatMs: e.FEATX_STORE_HEARTBEAT_MS,
      readTimeoutMs: e.FEATX_STORE_READ_TIMEOUT_MS,
      exportWaitMs: e.FEATX_EXPORT_STORE_WAIT_MS,
    },
    training: {
      artifactsDir: path.resolve(e.FEATX_ARTIFACTS_DIR ?? path.join(e.FEATX_STATE_DIR, 'artifacts')),
      concurrency: e.FEATX_TRAINER_CONCURRENCY,
      searchShares: e.FEATX_SEARCH_SHARES,
      staleAfterMs: e.FEATX_RUN_STALE_MS,
      read: e.FEATX_TRAINER_READ,
      readAheadBytes: Math.round(e.FEATX_TRAINER_READ_AHEAD_MB * 1024 * 1024),
      storeWaitMs: e.FEATX_TRAINER_STORE_WAIT_MS === 0 ? Infinity : e.FEATX_TRAINER_STORE_WAIT_MS,
      engine: e.FEATX_TRAINER_ENGINE,
      convergedMaxBytes: Math.round(e.FEATX_TRAINER_CONVERGED_MB * 1024 * 1024),
    },
    vision: {
      backend: e.FEATX_TF_BACKEND,
      weightsDir: e.FEATX_WEIGHTS_DIR,
      weightsDownload: e.FEATX_WEIGHTS_DOWNLOAD,
      extractConcurrency: e.FEATX_EXTRACT_CONCURRENCY,
      onnx: {
        threads: e.FEATX_ONNX_THREADS,
        executionProviders: e.FEATX_ONNX_PROVIDERS,
        cacheDir: path.resolve(e.FEATX_ONNX_CACHE_DIR ?? path.join(e.FEATX_STATE_DIR, 'onnx')),
        batchSize: e.FEATX_ONNX_BATCH_SIZE,
      },
    },
  };
}
