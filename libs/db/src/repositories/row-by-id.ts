import { eq } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database } from '../database';

/** The row of `table` whose `id` column is `id`, or undefined when there is none. */
export async function rowById<T extends PgTable & { id: AnyPgColumn }>(db: Database, table: T, id: string): Promise<T['$inferSelect'] | undefined> {
  const [row] = await db
    .select()
    .from(table as PgTable)
    .where(eq(table.id, id));
  return row as T['$inferSelect'] | undefined;
}
