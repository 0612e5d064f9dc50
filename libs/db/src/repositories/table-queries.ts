import { asc, eq } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database } from '../database';

/** Queries every repository asks of its tables in the same words. */

/** The row of `table` whose `id` column is `id`, or undefined when there is none. */
export async function rowById<T extends PgTable & { id: AnyPgColumn }>(db: Database, table: T, id: string): Promise<T['$inferSelect'] | undefined> {
  const [row] = await db
    .select()
    .from(table as PgTable)
    .where(eq(table.id, id));
  return row as T['$inferSelect'] | undefined;
}

/** The rows of `table`, oldest first; given an `ownerId`, only the rows whose `ownerColumn` holds it. */
export async function oldestFirst<T extends PgTable & { createdAt: AnyPgColumn }>(
  db: Database,
  table: T,
  ownerColumn?: AnyPgColumn,
  ownerId?: string,
): Promise<Array<T['$inferSelect']>> {
  const rows = await db
    .select()
    .from(table as PgTable)
    .where(ownerColumn && ownerId ? eq(ownerColumn, ownerId) : undefined)
    .orderBy(asc(table.createdAt));
  return rows as Array<T['$inferSelect']>;
}
