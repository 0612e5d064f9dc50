import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { createTestBus, createTestDatabase, testNamespace } from '../test/support';
import { createSyntheticFeatureSet, SyntheticFeatureSetOptions } from '../test/support/synthetic-features';

const STORE_ID = 'bench-store';

/** What a service bench runs against: its own database, bus namespace and folder, holding one synthetic stored feature set. */
export interface BenchStack {
  featureSetId: string;
  /** The stack's bus namespace (FEATX_NAMESPACE). */
  namespace: string;
  /** A connection to the stack's database. */
  db: Client;
  /** The services' environment: this stack, the wasm backend, warnings and errors only. */
  env: NodeJS.ProcessEnv;
  /** Removes the database, the namespace's streams and the folder. */
  close(): Promise<void>;
}

export async function openBenchStack(folderPrefix: string, featureSet: Omit<SyntheticFeatureSetOptions, 'storeId' | 'featuresDir'>): Promise<BenchStack> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), folderPrefix));
  const database = await createTestDatabase();
  const namespace = testNamespace();
  const db = new Client({ connectionString: database.url });
  await db.connect();
  const close = async () => {
    await db.end();
    await database.drop();
    await (await createTestBus(namespace)).cleanup();
    await fs.rm(root, { recursive: true, force: true });
  };
  try {
    const { featureSetId } = await createSyntheticFeatureSet(db, { ...featureSet, storeId: STORE_ID, featuresDir: path.join(root, 'features') });
    const env = {
      ...process.env,
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
