import * as os from 'node:os';
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { DEFAULT_HTTP_PORTS, ServiceName } from '../libs/runtime/src/config';
import { waitFor } from './local-stack';

const REPO = path.resolve(__dirname, '..');

export interface LaunchedServices {
  /** Resolves when every service answers /health/ready with its own pid; rejects, naming it, if one exits first. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM to all, then SIGKILL after the grace period; how each one ended. */
  stop(graceMs?: number): Promise<ServiceExit[]>;
  /** The first service to end. */
  exited: Promise<ServiceExit>;
  /** Process ids by instance label. */
  pids(): Record<string, number>;
}

export interface ServiceExit {
  service: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceInstance {
  service: ServiceName;
  /** Shown in log prefixes, e.g. extractor-2. */
  label: string;
  port: number;
  /** Runs the process in this network namespace (`ip netns exec`): a test host of its own. */
  netns?: string;
  /** Where its HTTP listener answers (FEATX_HTTP_HOST of this instance); default the shared env's. */
  host?: string;
  /** Settings of this instance only (store id, its own folders), over the shared env. */
  env?: NodeJS.ProcessEnv;
}

/** The five services, with `extractorReplicas` extractors, on each service's default port (shifted by portOffset). */
export function serviceInstances(extractorReplicas = 1, portOffset = 0): ServiceInstance[] {
  const instances: ServiceInstance[] = [];
  for (const service of Object.keys(DEFAULT_HTTP_PORTS) as ServiceName[]) {
    const count = service === 'extractor' ? extractorReplicas : 1;
    for (let i = 0; i < count; i++) {
      instances.push({ service, label: count > 1 ? `${service}-${i + 1}` : service, port: DEFAULT_HTTP_PORTS[service] + portOffset + i * 10 });
    }
  }
  return instances;
}

/**
 * What a service process runs: its TypeScript sources through the swc hook (`npm run dev`), or the
 * JavaScript that `npm run build` wrote to dist/apps/<service>, as the image does.
 */
export type ServiceCode = 'sources' | 'build';

function serviceCommand(service: ServiceName, code: ServiceCode): string[] {
  return code === 'sources'
    ? ['-r', path.join(REPO, 'tools/register.js'), path.join(REPO, `apps/${service}/src/main.ts`)]
    : [path.join(REPO, `dist/apps/${service}/main.js`)];
}

/** Starts each service as its own process, its log lines prefixed with its name. */
export function launchServices(
  instances: ServiceInstance[],
  env: NodeJS.ProcessEnv,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  code: ServiceCode = 'sources',
): LaunchedServices {
  const width = Math.max(...instances.map((i) => i.label.length));
  // Extractor replicas on one machine share its cores: one ONNX Runtime thread per core each
  // (2 replicas × 1 thread beat 1 × 2 threads here: see the README's engine benchmark).
  const extractors = instances.filter((i) => i.service === 'extractor').length;
  const onnxThreads = env.FEATX_ONNX_THREADS ?? String(Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, extractors))));
  // Likewise trainer replicas: the onednn engine's OpenMP threads spin while they wait, and two
  // replicas with a thread per core each on one machine took 2.5x as long per search share.
  const trainers = instances.filter((i) => i.service === 'trainer').length;
  const openMpThreads = env.OMP_NUM_THREADS ?? (trainers > 1 ? String(Math.max(1, Math.floor(os.availableParallelism() / trainers))) : undefined);
  const children: ChildProcess[] = [];
  const exits: Array<Promise<ServiceExit>> = [];
  for (const instance of instances) {
    // `ip netns exec` execs the command: the child's pid is the service's own.
    const [command, ...args] = [...(instance.netns ? ['ip', 'netns', 'exec', instance.netns] : []), process.execPath, ...serviceCommand(instance.service, code)];
    const child = spawn(command, args, {
      cwd: REPO,
      env: {
        ...env,
        FEATX_HTTP_PORT: String(instance.port),
        ...(instance.host ? { FEATX_HTTP_HOST: instance.host } : {}),
        ...(instance.service === 'extractor' ? { FEATX_ONNX_THREADS: onnxThreads } : {}),
        ...(instance.service === 'trainer' && openMpThreads ? { OMP_NUM_THREADS: openMpThreads } : {}),
        ...instance.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const prefix = `[${instance.label.padEnd(width)}]`;
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => write(`${prefix} ${line}`));
    }
    exits.push(new Promise((resolve) => child.once('exit', (code, signal) => resolve({ service: instance.label, code, signal }))));
  }
  const host = env.FEATX_HTTP_HOST ?? '127.0.0.1';
  return {
    pids: () => Object.fromEntries(instances.map((instance, i) => [instance.label, children[i].pid!])),
    exited: Promise.race(exits),
    async ready(timeoutMs = 60000) {
      // A service that exits while we wait (its port taken, a bad setting) fails this at once, by
      // name, instead of a timeout later; one that had already ended before the call is not watched.
      const ended = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
      const watched = children.map((child) => !ended(child));
      let failed = false;
      await Promise.all(
        instances.map((instance, i) =>
          waitFor(
            async () => {
              if (failed) return true; // another one failed this call: stop polling
              const child = children[i];
              if (watched[i] && ended(child)) {
                failed = true;
                throw new Error(`${instance.label} exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready`);
              }
              try {
                const response = await fetch(`http://${instance.host ?? host}:${instance.port}/health/ready`);
                // Another process on the port (two given one port) must not pass for this one.
                return response.ok && ((await response.json()) as { pid?: number }).pid === child.pid;
              } catch {
                return false;
              }
            },
            timeoutMs,
            `${instance.label} did not become ready on port ${instance.port}`,
          ).catch((error: Error) => {
            failed = true;
            throw error;
          }),
        ),
      );
    },
    async stop(graceMs = 15000) {
      for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')), graceMs);
      const ended = await Promise.all(exits);
      clearTimeout(timer);
      return ended;
    },
  };
}
