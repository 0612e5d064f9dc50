import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { REPO_ROOT } from '@featx/runtime';

/** undici's codes for a connection that closed under a request. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET']);

export class CliError extends Error {
  override readonly name = 'CliError';
}

/** A body the API streamed into a file. */
export interface Download {
  file: string;
  bytes: number;
  headers: Headers;
}

export interface ApiClientOptions {
  url: string;
  token?: string;
}

/** Where the CLI finds its token when none is given: the file the API generates at first start. */
export async function defaultToken(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (env.FEATX_API_TOKEN) return env.FEATX_API_TOKEN;
  const file = env.FEATX_API_TOKEN_FILE ?? path.join(env.FEATX_STATE_DIR ?? path.join(REPO_ROOT, '.featx'), 'api-token');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** A thin client of the admin API: every CLI command goes through it, never to NATS or Postgres directly. */
export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  get<T>(route: string): Promise<T> {
    return this.request<T>('GET', route);
  }

  post<T>(route: string, body: unknown): Promise<T> {
    return this.request<T>('POST', route, body);
  }

  /**
   * GETs `route` and streams the body into `file` as it arrives, never holding it whole: into
   * `<file>.part` first, renamed once complete (and as long as any content-length says), so an
   * interrupted download never leaves a file that looks whole.
   */
  async download(route: string, file: string): Promise<Download> {
    const url = new URL(route, this.options.url);
    let response: Response;
    try {
      response = await fetch(url, { headers: this.options.token ? { authorization: `Bearer ${this.options.token}` } : {} });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new CliError(`cannot reach the featx API at ${this.options.url} (${cause}); is it running? (npm run dev)`);
    }
    if (!response.ok || !response.body) {
      const text = await response.text();
      const message = (safeJson(text) as { message?: unknown } | undefined)?.message ?? text;
      throw new CliError(`GET ${url.pathname} failed with ${response.status}: ${Array.isArray(message) ? message.join('; ') : String(message)}`);
    }
    const partial = `${file}.part`;
    try {
      await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(partial));
      const { size } = await fs.stat(partial);
      const expected = response.headers.get('content-length');
      if (expected !== null && Number(expected) !== size) throw new Error(`got ${size} of ${expected} bytes`);
      await fs.rename(partial, file);
      return { file, bytes: size, headers: response.headers };
    } catch (error) {
      await fs.rm(partial, { force: true });
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      throw new CliError(`GET ${url.pathname} broke off while writing ${file}: ${(error as Error).message}${cause ? ` (${cause})` : ''}`);
    }
  }

  /** A multipart/form-data POST (file uploads); fetch sets the boundary header itself. */
  postForm<T>(route: string, form: FormData): Promise<T> {
    return this.request<T>('POST', route, form);
  }

  private async request<T>(method: string, route: string, body?: unknown): Promise<T> {
    const url = new URL(route, this.options.url);
    const isForm = body instanceof FormData;
    let response: Response;
    const send = () =>
      fetch(url, {
        method,
        headers: {
          ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
          ...(body === undefined || isForm ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
      });
    try {
      // A kept-alive socket the server closed just as it was reused fails the request before it
      // was handled (seen while a busy API polls progress); a GET is safe to send once more.
      response = await send().catch((error: { cause?: { code?: string } }) => {
        if (method === 'GET' && STALE_SOCKET_CODES.has(error.cause?.code ?? '')) return send();
        throw error;
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new CliError(`cannot reach the featx API at ${this.options.url} (${cause}); is it running? (npm run dev)`);
    }
    const text = await response.text();
    const payload = text ? safeJson(text) : undefined;
    if (!response.ok) {
      const message = (payload as { message?: unknown } | undefined)?.message ?? text;
      throw new CliError(`${method} ${url.pathname} failed with ${response.status}: ${Array.isArray(message) ? message.join('; ') : String(message)}`);
    }
    return payload as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
