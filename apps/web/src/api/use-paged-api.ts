import { useCallback, useEffect, useState } from 'react';
import type { ListPage } from '@featx/contracts';
import { getJson } from './client';

export interface LoadedPages<T> {
  /** The rows of every page loaded so far, in the list's order. */
  items: T[];
  /** Whether the first page has come (an empty list is loaded too). */
  loaded: boolean;
  error?: Error;
  loading: boolean;
  /** The list has rows past those loaded. */
  hasMore: boolean;
  /** Loads the next page after those loaded. */
  more(): void;
  /** Starts again from the first page. */
  reload(): void;
}

/**
 * A keyset-paged list of the API (`{items, next}`; `limit` and `cursor` in the query): the first
 * page when `route` changes or on reload(), each next one on more(). Never the whole table.
 */
export function usePagedApi<T>(route: string | null, limit = 100): LoadedPages<T> {
  const [state, setState] = useState<{ items: T[]; next: string | null; loaded: boolean; error?: Error; loading: boolean }>({ items: [], next: null, loaded: false, loading: route !== null });
  const [request, setRequest] = useState<{ generation: number; cursor: string | null }>({ generation: 0, cursor: null });
  useEffect(() => {
    if (route === null) return;
    const controller = new AbortController();
    const query = new URLSearchParams({ limit: String(limit), ...(request.cursor ? { cursor: request.cursor } : {}) });
    setState((previous) => ({ ...previous, loading: true }));
    getJson<ListPage<T>>(`${route}${route.includes('?') ? '&' : '?'}${query}`, controller.signal).then(
      (page) => setState((previous) => ({ items: request.cursor ? [...previous.items, ...page.items] : page.items, next: page.next, loaded: true, loading: false })),
      (error: Error) => {
        if (!controller.signal.aborted) setState((previous) => ({ ...previous, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [route, limit, request]);
  const more = useCallback(() => setRequest((r) => (state.next ? { generation: r.generation, cursor: state.next } : r)), [state.next]);
  const reload = useCallback(() => setRequest((r) => ({ generation: r.generation + 1, cursor: null })), []);
  return { items: state.items, loaded: state.loaded, error: state.error, loading: state.loading, hasMore: state.next !== null, more, reload };
}
