import { and, asc, eq, type SQL } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database } from '../database';
import { afterRow, decodeCursor, Page, PageRequest, toPage } from './keyset-page';

/** Queries every repository asks of its tables in the same words. */

/** The row of `table` whose `id` column is `id`, or undefined when there is none. */
export async function rowById<T extends PgTable & { id: AnyPgColumn }>(db: Database, table: T, id: string): Promise<T['$inferSelect'] | undefined> {
  const [row] = await db
    .select()
    .from(table as PgTable)
    .where(eq(table.id, id));
  return row as T['$inferSelect'] | undefined;
}

/**
 * A page of the rows of `table`, oldest first (created_at, then id); given an `ownerId`, only the
 * rows whose `ownerColumn` holds it (and `where`, given it). Read through an index on (owner, created_at, id) or
 * (created_at, id) (see the schema), so a page costs the same however many rows there are.
 */
export async function oldestFirstPage<T extends PgTable & { createdAt: AnyPgColumn; id: AnyPgColumn }>(
  db: Database,
  table: T,
  page: PageRequest,
  ownerColumn?: AnyPgColumn,
  ownerId?: string,
  where?: SQL,
): Promise<Page<T['$inferSelect']>> {
  const rows = await db
    .select()
    .from(table as PgTable)
    .where(
      and(
        ownerColumn && ownerId ? eq(ownerColumn, ownerId) : undefined,
        where,
        page.cursor === undefined ? undefined : afterRow(table, table.id, [table.createdAt, table.id], decodeCursor(page.cursor, 'string')),
      ),
    )
    .orderBy(asc(table.createdAt), asc(table.id))
    .limit(page.limit + 1);
  return toPage(rows as Array<T['$inferSelect']>, page.limit, (row) => (row as { id: string }).id);
}
