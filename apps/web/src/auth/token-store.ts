/**
 * The API token for this tab: sessionStorage, so it lasts while the tab does and no other tab or
 * later session sees it. It is sent only in the Authorization header, never in a URL.
 */
const KEY = 'featx.apiToken';

export const tokenStore = {
  get(): string | null {
    return sessionStorage.getItem(KEY);
  },
  set(token: string): void {
    sessionStorage.setItem(KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(KEY);
  },
};
