import { CursorKey, decodeCursor, Page, PageRequest, toPage } from '../repositories/keyset-page';

/**
 * A keyset page of rows already in the list's order, the way the Postgres repositories page:
 * the rows after the one whose key the cursor holds.
 */
export function inMemoryPage<T>(ordered: T[], page: PageRequest, keyOf: (row: T) => CursorKey): Page<T> {
  let start = 0;
  if (page.cursor !== undefined) {
    const key = decodeCursor(page.cursor, typeof keyOf(ordered[0] ?? ({} as T)) === 'number' ? 'number' : 'string');
    const at = ordered.findIndex((row) => keyOf(row) === key);
    start = at < 0 ? ordered.length : at + 1;
  }
  return toPage(ordered.slice(start, start + page.limit + 1), page.limit, keyOf);
}
