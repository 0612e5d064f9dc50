import { tokenStore } from '../auth/token-store';

/** An answer of the API other than 2xx, with the API's own message (it names what is wrong). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The API is this page's origin: the console is served by the API at `/`. */
export function authorizedHeaders(token = tokenStore.get()): HeadersInit {
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { message?: string | string[] };
    const message = Array.isArray(body.message) ? body.message.join('; ') : body.message;
    return new ApiError(response.status, message ?? `${response.status} ${response.statusText}`);
  } catch {
    return new ApiError(response.status, text || `${response.status} ${response.statusText}`);
  }
}

/** GET a JSON answer of the API with this tab's token. */
export async function getJson<T>(route: string, signal?: AbortSignal, token?: string): Promise<T> {
  const response = await fetch(route, { headers: authorizedHeaders(token), signal });
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

/** GET a file of the API (a thumbnail) with this tab's token, as a blob. */
export async function getBlob(route: string, signal?: AbortSignal): Promise<Blob> {
  const response = await fetch(route, { headers: authorizedHeaders(), signal });
  if (!response.ok) throw await errorOf(response);
  return response.blob();
}

/** POST JSON to the API with this tab's token. */
export async function postJson<T>(route: string, body?: unknown): Promise<T> {
  const response = await fetch(route, {
    method: 'POST',
    headers: { ...authorizedHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

/** POST a multipart form (uploads) with this tab's token; the browser sets its content type. */
export async function postForm<T>(route: string, form: FormData): Promise<T> {
  const response = await fetch(route, { method: 'POST', headers: authorizedHeaders(), body: form });
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

/**
 * Saves an API file (an export) with this tab's token: fetched, then handed to the browser as a
 * blob, since a plain link could not send the Authorization header.
 */
export async function downloadFile(route: string, fileName: string): Promise<void> {
  const response = await fetch(route, { headers: authorizedHeaders() });
  if (!response.ok) throw await errorOf(response);
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: fileName });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
