import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';

/**
 * Keyset pages: every list reads `limit` rows after the last one the reader saw, through the
 * index its order is, so a page costs the same at row 10 and at row 1,000,000 (an OFFSET would
 * read and drop every row before it).
 *
 * The cursor is opaque to readers: the base64url JSON of the last row's key. Keys ordered by a
 * timestamp carry the row's id only, and the query takes the timestamp from that row in the
 * database (`afterRow`), so the order key keeps Postgres's microseconds, which a JS Date would cut.
 */

export interface PageRequest {
  /** Rows to return, 1 to the list's maximum. */
  limit: number;
  /** The `next` of the page before; absent: the first page. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** The cursor of the next page; null when this page is the last. */
  next: string | null;
}

/** A cursor that is not one this list wrote: the message names what is wrong. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

export type CursorKey = string | number;

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key])).toString('base64url');
}

/** The key a cursor holds, checked to be of the type this list orders by. */
export function decodeCursor<K extends 'string' | 'number'>(cursor: string, type: K): K extends 'string' ? string : number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(`cursor "${cursor.slice(0, 80)}" is not a cursor this list returned`);
  }
  const key = Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : undefined;
  const valid = type === 'number' ? Number.isSafeInteger(key) : typeof key === 'string' && key.length > 0 && key.length <= 200;
  if (!valid) throw new InvalidCursorError(`cursor "${cursor.slice(0, 80)}" is not a cursor this list returned`);
  return key as K extends 'string' ? string : number;
}

/**
 * The page of `rows`, read with `limit + 1` so that the extra row tells whether another page
 * follows; `keyOf` gives the key the next page starts after.
 */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => CursorKey): Page<T> {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? encodeCursor(keyOf(items[items.length - 1])) : null };
}

/**
 * Rows after the row whose id is `id` in the order of `columns` (ascending; `descending`: before
 * it), the order key read from that row itself. A cursor whose row was deleted ends the list.
 */
export function afterRow(table: PgTable, idColumn: AnyPgColumn, columns: AnyPgColumn[], id: CursorKey, descending = false): SQL {
  const key = sql.join(columns, sql`, `);
  return sql`(${key}) ${descending ? sql`<` : sql`>`} (SELECT ${key} FROM ${table} WHERE ${idColumn} = ${id})`;
}
