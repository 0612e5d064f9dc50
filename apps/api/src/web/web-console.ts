import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { NestExpressApplication } from '@nestjs/platform-express';

/** Where `vite build` writes the console (apps/web), from the repository or the image root. */
export const WEB_CONSOLE_DIST = path.join('dist', 'apps', 'web');

/**
 * The folder of the built console: FEATX_WEB_DIR, else dist/apps/web in the first folder above
 * this file that has it (the repository when run from source, /app in the image).
 */
export function webConsoleDir(env: NodeJS.ProcessEnv = process.env, from = __dirname): string | undefined {
  if (env.FEATX_WEB_DIR) return path.resolve(env.FEATX_WEB_DIR);
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, WEB_CONSOLE_DIST);
    if (existsSync(path.join(candidate, 'index.html'))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The web console at `/` on the API's port: index.html at `/` and Vite's hashed files under
 * `/assets/`, public like /docs (they hold no data: every API call the console makes sends the
 * bearer token). Only those two paths touch the disk, so API requests pay nothing for it. The
 * console routes with the URL's hash (#/runs/...), so no console path can shadow an API route.
 * Not built: `/` says how to build it.
 */
export function serveWebConsole(app: NestExpressApplication, dir = webConsoleDir()): void {
  const http = app.getHttpAdapter();
  const index = dir && path.join(dir, 'index.html');
  if (index && existsSync(index)) {
    // Vite names assets by content hash: they never change; index.html is read anew each time.
    app.useStaticAssets(path.join(dir, 'assets'), { prefix: '/assets/', immutable: true, maxAge: '365d', index: false });
    http.get('/', (_request: unknown, response: { setHeader(name: string, value: string): void; sendFile(file: string): void }) => {
      response.setHeader('cache-control', 'no-cache');
      response.sendFile(index);
    });
    return;
  }
  http.get('/', (_request: unknown, response: { status(code: number): { type(t: string): { send(body: string): void } } }) => {
    response.status(404).type('text/plain').send('The featx web console is not built: run `npm run build:web` (npm run dev and npm run demo build it), or set FEATX_WEB_DIR. The API is here; its docs are at /docs.\n');
  });
}
