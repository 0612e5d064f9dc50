import { sql } from 'drizzle-orm';
import { createTestDatabase, TestDatabase } from '../../../test/support/test-database';
import { DatabaseHandle, openDatabase } from './database';

/** The pool against a real Postgres: a connection lost mid-use fails its work, never the process. */
describe('openDatabase', () => {
  let database: TestDatabase;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    handle = openDatabase(database.url, { maxConnections: 2 });
  });
  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });

  it('survives a checked-out connection reset under a running query, and serves the next query on a new one', async () => {
    const client = await handle.pool.connect();
    const running = client.query('SELECT pg_sleep(5)');
    // What a host cut off, then back, sees: the socket fails under the query.
    const { connection } = client as unknown as { connection: { stream: { destroy(error: Error): void } } };
    connection.stream.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    // Without an error listener on the checked-out client this was an unhandled 'error' event: the process died.
    await expect(running).rejects.toThrow('read ECONNRESET');
    client.release();
    const { rows } = await handle.db.execute(sql`SELECT 41 + 1 AS answer`);
    expect(rows).toEqual([{ answer: 42 }]);
  });
});
