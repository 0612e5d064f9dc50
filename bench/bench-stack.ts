import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, testNamespace } from '../test/support';
import { createSyntheticFeatureSet, SyntheticFeatureSetOptions } from '../test/support/synthetic-features';
import { startBenchNats } from './bench-nats';

const STORE_ID = 'bench-store';

/**
 * What a service bench runs against: its own database, nats-server (started as featx starts one),
 * bus namespace and folder, holding one synthetic stored feature set.
 */
export interface BenchStack {
  featureSetId: string;
  /** The stack's bus namespace (FEATX_NAMESPACE). */
  namespace: string;
  /** A connection to the stack's database. */
  db: Client;
  /** The services' environment: this stack (FEATX_NATS_URL: its nats-server), the wasm backend, warnings and errors only. */
  env: NodeJS.ProcessEnv;
  /** Stops the nats-server, removes the database and the folder. */
  close(): Promise<void>;
}

export async function openBenchStack(folderPrefix: string, featureSet: Omit<SyntheticFeatureSetOptions, 'storeId' | 'featuresDir'>): Promise<BenchStack> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), folderPrefix));
  const nats = await startBenchNats(path.join(root, 'nats'));
  const database = await createTestDatabase().catch(async (error) => {
    await nats.stop();
    throw error;
  });
  const namespace = testNamespace();
  const db = new Client({ connectionString: database.url });
  await db.connect();
  const close = async () => {
    await db.end();
    await database.drop();
    await nats.stop();
    await fs.rm(root, { recursive: true, force: true });
  };
  try {
    const { featureSetId } = await createSyntheticFeatureSet(db, { ...featureSet, storeId: STORE_ID, featuresDir: path.join(root, 'features') });
    const env = {
      ...process.env,
      FEATX_NATS_URL: nats.url,
      FEATX_DATABASE_URL: database.url,
      FEATX_NAMESPACE: namespace,
      FEATX_DATA_ROOTS: `bench=${root}`,
      FEATX_FEATURES_DIR: path.join(root, 'features'),
      FEATX_ARTIFACTS_DIR: path.join(root, 'artifacts'),
      FEATX_STORE_ID: STORE_ID,
      FEATX_TF_BACKEND: 'wasm',
      FEATX_LOG_LEVEL: 'warn',
    };
    return { featureSetId, namespace, db, env, close };
  } catch (error) {
    await close();
    throw error;
  }
}
