import { ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../test/support/free-ports';
import { reachable, waitFor } from '../tools/local-stack';
import { natsServerEnv } from '../tools/nats-server-env';

export interface BenchNats {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * A nats-server of the bench's own, started as featx starts one (natsServerEnv): its CPU is the
 * bench's alone and its settings featx's, not those of whatever server the machine runs.
 * JetStream (stored under `dir`), on a free port, max_payload given or the default 1 MiB.
 */
export async function startBenchNats(dir: string, maxPayload?: number): Promise<BenchNats> {
  const port = await freePort();
  const configFile = path.join(dir, `nats-${port}.conf`);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(configFile, `listen: 127.0.0.1:${port}\n${maxPayload ? `max_payload: ${maxPayload}\n` : ''}jetstream { store_dir: "${path.join(dir, `js-${port}`)}" }\n`);
  const child: ChildProcess = spawn(process.env.BENCH_NATS_SERVER ?? 'nats-server', ['-c', configFile], { stdio: 'ignore', env: natsServerEnv() });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await waitFor(() => reachable('127.0.0.1', port), 15000, `nats-server did not start on ${port}`);
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
