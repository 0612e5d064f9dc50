import type { Command } from 'commander';
import type { ListPage } from '@featx/contracts';
import type { ApiClient } from './api-client';

/** The API's largest page: what `allPages` asks for. */
const MAX_PAGE = 1000;

export interface PageOptions {
  limit?: string;
  cursor?: string;
}

/** `--limit` and `--cursor` on a listing command: one page of the API's keyset-paged list. */
export function withPageOptions(command: Command, defaultLimit = 100): Command {
  return command
    .option('--limit <n>', `rows to list (1-${MAX_PAGE})`, String(defaultLimit))
    .option('--cursor <next>', 'go on from the `next` cursor an earlier listing printed');
}

/** `route` with `params` (undefined ones left out) as its query string. */
export function withQuery(route: string, params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(name, String(value));
  const text = query.toString();
  return text === '' ? route : `${route}${route.includes('?') ? '&' : '?'}${text}`;
}

/** One page of a list, as `--limit` and `--cursor` ask. */
export function getPage<T>(api: ApiClient, route: string, opts: PageOptions): Promise<ListPage<T>> {
  return api.get<ListPage<T>>(withQuery(route, { limit: opts.limit, cursor: opts.cursor }));
}

/** Every row of a list, page after page (for lists bounded by what they describe, such as a set's shards). */
export async function allPages<T>(api: ApiClient, route: string): Promise<T[]> {
  const rows: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.get<ListPage<T>>(withQuery(route, { limit: MAX_PAGE, cursor }));
    rows.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return rows;
}

/** The line after a page that has a next one: how to list it. */
export function nextPageHint(page: ListPage<unknown>, commandLine: string): string | undefined {
  return page.next === null ? undefined : `more: ${commandLine} --cursor ${page.next}`;
}
