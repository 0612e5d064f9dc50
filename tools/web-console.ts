/**
 * The web console's build (apps/web, Vite): `node -r ./tools/register.js tools/web-console.ts build`
 * (what `nx build web` runs) builds it; `npm run dev`, `npm run demo` and the console's e2e spec
 * call ensureWebConsoleBuilt, which builds only when dist/apps/web is missing or older than a
 * source. Vite runs in a child process: it is an ES module and this process is CommonJS (swc).
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../libs/runtime/src/config';
import { ApiClient, defaultToken } from '../apps/cli/src/api-client';

export const WEB_SOURCE_DIR = path.join(REPO_ROOT, 'apps', 'web');
export const WEB_DIST_DIR = path.join(REPO_ROOT, 'dist', 'apps', 'web');
/** Besides apps/web, what changes the bundle: the dependencies' versions. */
const OTHER_INPUTS = [path.join(REPO_ROOT, 'package-lock.json')];

/** Builds the console into dist/apps/web; resolves with the build's duration. */
export async function buildWebConsole(): Promise<number> {
  const started = Date.now();
  const vite = path.join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  try {
    await promisify(execFile)(process.execPath, [vite, 'build', '--config', path.join(WEB_SOURCE_DIR, 'vite.config.mts')], {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
      // Jest sets NODE_ENV=test, which would build React's development bundle (twice the size).
      env: { ...process.env, NODE_ENV: 'production' },
    });
  } catch (error) {
    const { stderr, stdout, message } = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`the web console (apps/web) did not build: ${(stderr || stdout || message).trim()}`);
  }
  return Date.now() - started;
}

/** Why the built console is stale (a source newer than its index.html), or null when it is current. */
export async function webConsoleStaleness(): Promise<string | null> {
  const built = path.join(WEB_DIST_DIR, 'index.html');
  if (!existsSync(built)) return `${path.relative(REPO_ROOT, built)} is missing`;
  const builtAt = (await fs.stat(built)).mtimeMs;
  for (const file of [...(await sourceFiles(WEB_SOURCE_DIR)), ...OTHER_INPUTS]) {
    if ((await fs.stat(file)).mtimeMs > builtAt) return `${path.relative(REPO_ROOT, file)} changed since the last build`;
  }
  return null;
}

/** Builds the console when it is missing or stale, saying why through `log`. */
export async function ensureWebConsoleBuilt(log: (line: string) => void): Promise<void> {
  const reason = await webConsoleStaleness();
  if (!reason) return;
  log(`building the web console (${reason})…`);
  const ms = await buildWebConsole();
  log(`web console built in ${(ms / 1000).toFixed(1)} s`);
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

if (require.main === module) {
  const [command] = process.argv.slice(2);
  if (command !== 'build') {
    console.error('usage: node -r ./tools/register.js tools/web-console.ts build');
    process.exit(2);
  }
  buildWebConsole().then(
    (ms) => console.log(`web console built into ${path.relative(REPO_ROOT, WEB_DIST_DIR)} in ${(ms / 1000).toFixed(1)} s`),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}

/**
 * How to open the console of the API at `apiUrl` (whose state folder is `stateDir`): a single-use
 * sign-in link (`POST /auth/sign-in-codes` with the API token; the link carries a code, never the
 * token), or the plain address when no link can be had (no token here, authentication disabled).
 */
export async function consoleAddress(apiUrl: string, stateDir: string): Promise<string> {
  const token = await defaultToken({ ...process.env, FEATX_STATE_DIR: stateDir });
  try {
    const issued = await new ApiClient({ url: apiUrl, token }).post<{ path: string; expiresAt: string }>('/auth/sign-in-codes', {});
    return `${apiUrl}${issued.path} (a sign-in link: one use, until ${new Date(issued.expiresAt).toLocaleTimeString()}; or ${apiUrl}/ with the API token)`;
  } catch (error) {
    return `${apiUrl}/ (sign in with the API token; no sign-in link: ${(error as Error).message})`;
  }
}
