import * as path from 'node:path';
import { drizzle, NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { Client, Pool } from 'pg';
import * as schema from './schema';

export type Database = NodePgDatabase<typeof schema>;

export interface DatabaseHandle {
  db: Database;
  pool: Pool;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = path.resolve(__dirname, '../../../migrations');

/** Any constant works: every featx process that migrates takes this same session-level lock. */
const MIGRATION_LOCK_KEY = 0x66656174; // 'feat'

export interface OpenDatabaseOptions {
  maxConnections?: number;
  /**
   * The server ends a session left idle inside a transaction this long (0 = never), releasing its
   * locks. A service on a host cut off the network mid-transaction would otherwise hold e.g. a
   * feature set's row lock until TCP gives up on it, stalling every other replica. Default 30 s.
   */
  idleInTransactionTimeoutMs?: number;
}

export function openDatabase(url: string, options: OpenDatabaseOptions = {}): DatabaseHandle {
  const pool = new Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 30000,
    // Notices a server that went away (its host cut off) on an idle pooled connection.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10000,
  });
  // An idle client that loses its server (a Postgres restart) must not crash the process.
  pool.on('error', () => undefined);
  // Nor one checked out (a query or transaction in flight): pg-pool takes its idle listener off
  // while it is out, and a socket error (ECONNRESET on a host cut off, then back) was then an
  // unhandled 'error' event that killed a feature store in the multi-host suite. The error still
  // fails what the client was running, and the pool drops the client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return { db: drizzle(pool, { schema }), pool, close: () => pool.end() };
}

/**
 * Applies pending migrations from `migrations/`. Replicas starting together serialize on an
 * advisory lock; whoever comes second finds nothing left to apply.
 */
export async function migrateDatabase(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

/** Creates the database named in the URL when it does not exist yet (fresh machine, first start). */
export async function ensureDatabaseExists(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error(`database URL ${redactUrl(url)} names no database`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04' && error.code !== '23505') throw error; // created meanwhile by another replica
      });
    }
  } finally {
    await client.end();
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
