/**
 * The fault tests' own NATS and Postgres: started here on free ports with their own data folders,
 * so that they can be killed and restarted without touching the machine's shared servers.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { ShardReader, shardDir } from '@featx/features';
import { reachable, waitFor } from '../../tools/local-stack';
import { freePort } from '../support/free-ports';

export interface OwnNats {
  url: string;
  port: number;
  start(): Promise<void>;
  /** SIGTERM (or the given signal), waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `nats-server -a 127.0.0.1 -p <port> -js -sd <storeDir>`; restarts keep the same store. */
export async function ownNats(storeDir: string): Promise<OwnNats> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const nats: OwnNats = {
    url: `nats://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
      await waitFor(() => reachable('127.0.0.1', port), 15000, `nats-server did not start on ${port}`);
    },
    async stop(signal = 'SIGTERM') {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill(signal);
      await exited;
    },
  };
  await nats.start();
  return nats;
}

export interface OwnPostgres {
  url: string;
  port: number;
  dir: string;
  start(): Promise<void>;
  /** pg_ctl stop with the given mode (immediate = like a crash: no checkpoint, recovery at start). */
  stop(mode?: 'fast' | 'immediate'): void;
}

/** The Postgres found under /usr/lib/postgresql/<version>/bin, or undefined. */
export function postgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin/pg_ctl'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0], 'bin') : undefined;
}

export interface OwnPostgresOptions {
  /** Runs it inside this network namespace (a test host; see test/cluster/test-hosts.ts). */
  netns?: string;
  /** The address it listens on and clients use; default 127.0.0.1. */
  address?: string;
  /** Default: a free port (in a namespace of its own, any port is free: 5432). */
  port?: number;
  /** A network (CIDR) whose clients are trusted besides local ones, e.g. the test hosts' subnet. */
  trustNetwork?: string;
}

/**
 * A throw-away cluster (initdb, trust authentication) run as the postgres user when this process
 * is root (Postgres refuses to run as root).
 */
export async function ownPostgres(options: OwnPostgresOptions = {}): Promise<OwnPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql/*/bin');
  const address = options.address ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  // A folder of its own directly under the temporary folder, so that the postgres user can reach it.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'featx-faults-pg-'));
  const dataDir = path.join(dir, 'pgdata');
  mkdirSync(dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    chownSync(dataDir, uid, gid);
  }
  const run = (tool: string, args: string[]) => {
    const command = [...(asRoot ? ['runuser', '-u', 'postgres', '--'] : []), path.join(bin, tool), ...args];
    // pg_ctl's server inherits the namespace it is started in.
    if (options.netns && tool === 'pg_ctl') command.unshift('ip', 'netns', 'exec', options.netns);
    execFileSync(command[0], command.slice(1), { stdio: 'ignore', cwd: '/tmp' });
  };
  run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  if (options.trustNetwork) appendFileSync(path.join(dataDir, 'pg_hba.conf'), `host all all ${options.trustNetwork} trust\n`);
  const pg: OwnPostgres = {
    url: `postgres://postgres@${address}:${port}/postgres`,
    port,
    dir,
    async start() {
      run('pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'postgres.log'), '-w', '-o', `-p ${port} -c listen_addresses=${address} -k ${dir} -c fsync=off`, 'start']);
      await waitFor(() => reachable(address, port), 15000, `postgres did not start on ${address}:${port}`);
    },
    stop(mode = 'fast') {
      run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop']);
    },
  };
  await pg.start();
  return pg;
}

export interface SetCheck {
  images: number;
  /** feature_sets.stored / failed / status */
  stored: number;
  failed: number;
  status: string;
  /** count(feature_vectors), count(feature_failures) */
  vectorRows: number;
  failureRows: number;
  /** rows across the set's shard files, as ShardReader reads them */
  shardRows: number;
  /** image ids in the shards more than once */
  duplicated: number;
  /** the dataset's images found in no shard and with no failure */
  missing: number;
  /** shards whose file length differs from the committed rows in the database */
  shardsOffCommitted: number;
  /** Augmented rows (an hflip set's mirrors): feature_sets.augmented, their feature_vectors and shard rows. */
  augmented: number;
  augmentedVectorRows: number;
  augmentedShardRows: number;
  /** image ids among the augmented rows more than once */
  augmentedDuplicated: number;
  /** an hflip set's stored training images with no augmented row */
  augmentedMissing: number;
}

/** A shard as feature_shards records it. */
export interface ShardRecord {
  id: string;
  path: string;
  rows: number;
  /** The feature-store replica that holds it. */
  writer: string;
}

/** Reads all of a shard's rows (its files, or its store over the bus): how many there are and their image ids. */
export type ShardImageIds = (shard: ShardRecord) => Promise<{ rows: number; imageIds: number[] }>;

/** The shard's files under one store's `featuresDir`. */
export function shardFiles(featuresDir: string): ShardImageIds {
  return async (shard) => {
    const reader = await ShardReader.open(shardDir(featuresDir, shard.path));
    try {
      const { imageIds } = await reader.read(0, reader.rows);
      return { rows: reader.rows, imageIds: Array.from(imageIds, Number) };
    } finally {
      await reader.close();
    }
  };
}

/** Every image of a complete set stored or failed exactly once, in Postgres and in the shards. */
export function expectExactlyOnce(check: SetCheck): void {
  expect(check.status).toBe('complete');
  expect(check.stored + check.failed).toBe(check.images);
  expect(check.vectorRows).toBe(check.stored);
  expect(check.failureRows).toBe(check.failed);
  expect(check.shardRows).toBe(check.stored);
  expect(check.duplicated).toBe(0);
  expect(check.missing).toBe(0);
  expect(check.shardsOffCommitted).toBe(0);
  expect(check.augmentedVectorRows).toBe(check.augmented);
  expect(check.augmentedShardRows).toBe(check.augmented);
  expect(check.augmentedDuplicated).toBe(0);
  expect(check.augmentedMissing).toBe(0);
}

/** One query on a client of its own: the test's view survives a Postgres restart or a host cut off. */
export async function queryOnce<T = Record<string, unknown>>(databaseUrl: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Counts from the database and from the shards themselves (not from logs): read from the files
 * under `featuresDir`, or by `readShard` (e.g. through the stores over the bus).
 */
export async function checkFeatureSet(db: Client, shardsFrom: string | ShardImageIds, featureSetId: string): Promise<SetCheck> {
  const readShard = typeof shardsFrom === 'string' ? shardFiles(shardsFrom) : shardsFrom;
  const set = (await db.query('SELECT dataset_id, images, stored, failed, augment, augmented, status FROM feature_sets WHERE id = $1', [featureSetId])).rows[0];
  const vectorCounts = (await db.query("SELECT count(*) FILTER (WHERE augment = 'none') AS own, count(*) FILTER (WHERE augment <> 'none') AS augmented FROM feature_vectors WHERE feature_set_id = $1", [featureSetId])).rows[0];
  const vectorRows = Number(vectorCounts.own);
  const failures = (await db.query('SELECT image_id FROM feature_failures WHERE feature_set_id = $1', [featureSetId])).rows.map((r) => Number(r.image_id));
  const shards: Array<ShardRecord & { augment: string }> = (await db.query('SELECT id, path, rows, writer, augment FROM feature_shards WHERE feature_set_id = $1', [featureSetId])).rows;
  const seen = new Map<number, number>();
  const seenAugmented = new Map<number, number>();
  let shardRows = 0;
  let augmentedShardRows = 0;
  let shardsOffCommitted = 0;
  for (const shard of shards) {
    const { rows, imageIds } = await readShard(shard);
    if (rows !== shard.rows) shardsOffCommitted += 1;
    const counts = shard.augment === 'none' ? seen : seenAugmented;
    if (shard.augment === 'none') shardRows += rows;
    else augmentedShardRows += rows;
    for (const id of imageIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const training = new Set((await db.query("SELECT id FROM images WHERE dataset_id = $1 AND split = 'training'", [set.dataset_id])).rows.map((r) => Number(r.id)));
  const failed = new Set(failures);
  const imageIds = (await db.query("SELECT id FROM images WHERE dataset_id = $1 AND status <> 'missing'", [set.dataset_id])).rows.map((r) => Number(r.id));
  return {
    images: set.images,
    stored: set.stored,
    failed: set.failed,
    status: set.status,
    vectorRows,
    failureRows: failures.length,
    shardRows,
    duplicated: [...seen.values()].filter((n) => n > 1).length,
    missing: imageIds.filter((id) => !seen.has(id) && !failed.has(id)).length,
    shardsOffCommitted,
    augmented: set.augmented,
    augmentedVectorRows: Number(vectorCounts.augmented),
    augmentedShardRows,
    augmentedDuplicated: [...seenAugmented.values()].filter((n) => n > 1).length,
    augmentedMissing: set.augment === 'none' ? 0 : [...seen.keys()].filter((id) => training.has(id) && !seenAugmented.has(id)).length,
  };
}
