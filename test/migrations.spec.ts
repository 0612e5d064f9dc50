import { Client } from 'pg';
import { migrateDatabase } from '@featx/db';
import { createTestDatabase, TestDatabase } from '@featx/testing';

describe('migrations', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('build the schema from an empty database, also when several replicas migrate at once, and re-run as a no-op', async () => {
    await Promise.all([1, 2, 3, 4].map(() => migrateDatabase(database.url)));
    await migrateDatabase(database.url);
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows: tables } = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
      expect(tables.map((t) => t.table_name)).toEqual(['commands', 'datasets', 'epoch_metrics', 'evaluations', 'feature_failures', 'feature_sets', 'feature_shards', 'feature_stores', 'feature_vectors', 'images', 'rejected_messages', 'run_candidates', 'run_image_predictions', 'training_runs']);
      const { rows: applied } = await client.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
      const journal = require('../migrations/meta/_journal.json');
      expect(applied[0].n).toBe(journal.entries.length);
      const { rows: indexes } = await client.query("SELECT indexname FROM pg_indexes WHERE tablename = 'images' ORDER BY 1");
      expect(indexes.map((i) => i.indexname)).toEqual(['images_dataset_changed_id_idx', 'images_dataset_id_idx', 'images_dataset_path_key', 'images_dataset_split_label_idx', 'images_dataset_status_id_idx', 'images_pkey']);
    } finally {
      await client.end();
    }
  });
});
