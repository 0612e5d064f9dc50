/** `npm run db:migrate`: applies the migrations in migrations/ to FEATX_DATABASE_URL (creating the database if needed). */
import { ensureDatabaseExists, migrateDatabase, redactUrl } from '../libs/db/src';
import { loadConfig } from '../libs/runtime/src/config';

async function main() {
  const { database } = loadConfig('api');
  await ensureDatabaseExists(database.url);
  await migrateDatabase(database.url);
  console.log(`migrations applied to ${redactUrl(database.url)}`);
}

main().catch((error) => {
  console.error(`db:migrate failed: ${error.message}`);
  process.exit(1);
});
