/**
 * featx across test hosts (test/cluster/test-hosts.ts): a 3-node NATS JetStream cluster, one node
 * per host; Postgres of its own on host 1; the services as real processes, each in its host's
 * namespace with its own state and feature folders (no service reads another's disk). Used by the
 * multi-host suite (test/cluster) and its bench (bench/cluster.ts).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { BusConnection, connectBus, request } from '@featx/bus';
import { readShardRequest } from '@featx/contracts';
import { SHARED_DIR } from '@featx/testing';
import { launchServices, LaunchedServices, ServiceExit } from '../../tools/service-launcher';
import { reachable, waitFor } from '../../tools/local-stack';
import { ServiceName, DEFAULT_HTTP_PORTS, REPO_ROOT } from '../../libs/runtime/src/config';
import { checkFeatureSet, OwnPostgres, ownPostgres, queryOnce, SetCheck, ShardImageIds } from '../faults/fault-stack';
import { createTestNetwork, TestHost, TestNetwork } from './test-hosts';

export const CLUSTER_API_TOKEN = '0123456789abcdef0123';
const NAMESPACE = 'cluster';
const CLIENT_PORT = 4222;
const ROUTE_PORT = 6222;
const MONITOR_PORT = 8222;

export interface NatsNode {
  name: string;
  host: TestHost;
  url: string;
  /** SIGKILL by default; resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same store folder. */
  start(): Promise<void>;
  /** Empties its store folder (stopped: before any stream exists, a cluster that did not form starts afresh). */
  wipe(): Promise<void>;
  running(): boolean;
  /** The server's process id while it runs. */
  pid(): number | undefined;
  /** This node's own copy of each stream of the namespace (its /jsz), by stream name. */
  streams(): Promise<Record<string, { messages: number; lastSeq: number }>>;
}

/** One service process on one host, e.g. `store-3` (a feature store on host 3). */
export interface ClusterService {
  label: string;
  service: ServiceName;
  host: TestHost;
  launched?: LaunchedServices;
  pid(): number | undefined;
}

export interface ClusterStackOptions {
  /** A fresh folder: data/, and per host its NATS store, state and features. */
  root: string;
  /** FEATX_STREAM_REPLICAS of every service. */
  replicas: number;
  /** Extra settings of every service (ack waits, log level, ...). */
  env?: NodeJS.ProcessEnv;
  /** Service log lines go here (each prefixed with its label). */
  log?: (line: string) => void;
  /** The services started with the stack (besides ingest, always first); default all of HOST_OF. */
  services?: string[];
}

export interface ClusterStack {
  network: TestNetwork;
  nodes: NatsNode[];
  pg: OwnPostgres;
  databaseUrl: string;
  /** FEATX_NATS_URL of every service: all nodes. */
  natsUrl: string;
  apiUrl: string;
  /** The test's own client, connected to all nodes. */
  bus: BusConnection;
  services: Map<string, ClusterService>;
  /** Starts the labelled service (`api`, `ingest`, `extractor-N`, `store-N`, `trainer`) on its host. */
  start(label: string, extraEnv?: NodeJS.ProcessEnv): Promise<void>;
  /** Sends the signal (default SIGTERM) and waits for the exit. */
  stop(label: string, signal?: NodeJS.Signals): Promise<ServiceExit | undefined>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** The set's counts, its shards read back through their stores over the bus. */
  checkSet(featureSetId: string): Promise<SetCheck>;
  teardown(): Promise<void>;
}

/** `api`, `ingest` on host 1; an extractor and a store on each host; the trainer on host 2. */
export const HOST_OF: Record<string, number> = { api: 1, ingest: 1, 'extractor-1': 1, 'store-1': 1, 'extractor-2': 2, 'store-2': 2, trainer: 2, 'extractor-3': 3, 'store-3': 3 };

function serviceOf(label: string): ServiceName {
  if (label.startsWith('store-')) return 'feature-store';
  return label.replace(/-\d+$/, '') as ServiceName;
}

/** Where tools/fetch-nats-server.sh (run by .ci/run) unpacks a current nats-server. */
const FETCHED_NATS_SERVER = path.join(REPO_ROOT, '.featx/tools/nats-server/usr/sbin/nats-server');

/** The nats-server binary the cluster runs: FEATX_TEST_NATS_SERVER, else the fetched one, else the PATH's. */
export const NATS_SERVER = process.env.FEATX_TEST_NATS_SERVER || (existsSync(FETCHED_NATS_SERVER) ? FETCHED_NATS_SERVER : 'nats-server');

/** Its version as [major, minor], e.g. [2, 10]. */
export function natsServerVersion(): [number, number] {
  const text = execFileSync(NATS_SERVER, ['--version'], { encoding: 'utf8' });
  const match = /v(\d+)\.(\d+)\./.exec(text);
  if (!match) throw new Error(`${NATS_SERVER} --version said ${JSON.stringify(text.trim())}, not a version`);
  return [Number(match[1]), Number(match[2])];
}

async function natsNode(host: TestHost, all: TestHost[], storeDir: string, logFile: string): Promise<NatsNode> {
  let child: ChildProcess | undefined;
  const name = `nats-${host.name.replace('host', '')}`;
  const routes = all.filter((other) => other !== host).map((other) => `nats://${other.address}:${ROUTE_PORT}`);
  const args = ['-a', '0.0.0.0', '-p', String(CLIENT_PORT), '-m', String(MONITOR_PORT), '-js', '-sd', storeDir, '-n', name, '--cluster_name', 'featx-test', '--cluster', `nats://${host.address}:${ROUTE_PORT}`, '--routes', routes.join(','), '-l', logFile];
  const node: NatsNode = {
    name,
    host,
    url: `nats://${host.address}:${CLIENT_PORT}`,
    running: () => !!child && child.exitCode === null && child.signalCode === null,
    pid: () => (node.running() ? child?.pid : undefined),
    async start() {
      // `ip netns exec` execs nats-server: the child's pid is the server's.
      child = spawn('ip', ['netns', 'exec', host.netns, NATS_SERVER, ...args], { stdio: 'ignore' });
      await waitFor(() => reachable(host.address, CLIENT_PORT), 15000, `${name} did not start on ${host.address}:${CLIENT_PORT}`);
    },
    async wipe() {
      if (node.running()) throw new Error(`${name} is running: stop it before wiping its store`);
      await fs.rm(storeDir, { recursive: true, force: true });
      await fs.mkdir(storeDir, { recursive: true });
    },
    async kill(signal = 'SIGKILL') {
      const c = child;
      if (!c || !node.running()) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill(signal);
      await exited;
    },
    async streams() {
      const response = await fetch(`http://${host.address}:${MONITOR_PORT}/jsz?accounts=true&streams=true`);
      const jsz = (await response.json()) as { account_details?: Array<{ stream_detail?: Array<{ name: string; state: { messages: number; last_seq: number } }> }> };
      const result: Record<string, { messages: number; lastSeq: number }> = {};
      for (const account of jsz.account_details ?? []) {
        for (const stream of account.stream_detail ?? []) {
          if (stream.name.startsWith(`${NAMESPACE.toUpperCase()}_`)) result[stream.name] = { messages: stream.state.messages, lastSeq: stream.state.last_seq };
        }
      }
      return result;
    },
  };
  await node.start();
  return node;
}

/** Each node's view of the JetStream meta group (its /jsz), or the reason it has none. */
async function metaViews(nodes: NatsNode[]): Promise<Array<{ node: string; leader?: string; size?: number; error?: string }>> {
  return Promise.all(
    nodes.map(async (node) => {
      try {
        const jsz = (await (await fetch(`http://${node.host.address}:${MONITOR_PORT}/jsz`, { signal: AbortSignal.timeout(2000) })).json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
        return { node: node.name, leader: jsz.meta_cluster?.leader, size: jsz.meta_cluster?.cluster_size };
      } catch (error) {
        return { node: node.name, error: (error as Error).message };
      }
    }),
  );
}

/**
 * Waits until every node sees the same meta leader in a group of all the nodes: before that, R3
 * streams cannot be placed ("no suitable peers"). A cluster that has not formed in time is
 * started once more, from empty store folders (seen once in a CI run: services gave up after 60 s
 * of "no suitable peers"; and once every node agreed on a leader of a meta group of 2, and again
 * after a restart on the same folders, which keep that group); a second failure names each node's
 * view and the end of its log.
 */
async function clusterFormed(nodes: NatsNode[], logFiles: string[], timeoutMs = 45000): Promise<void> {
  const formed = (views: Awaited<ReturnType<typeof metaViews>>) => views.every((v) => !!v.leader && v.leader === views[0].leader && v.size === nodes.length);
  for (let attempt = 1; ; attempt++) {
    const deadline = Date.now() + timeoutMs;
    let views = await metaViews(nodes);
    while (!formed(views) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      views = await metaViews(nodes);
    }
    if (formed(views)) return;
    if (attempt === 2) {
      const tails = logFiles.map((file) => `${file}:\n${readLogTail(file)}`).join('\n');
      throw new Error(`the JetStream cluster did not form in ${timeoutMs} ms, twice: ${JSON.stringify(views)}\n${tails}`);
    }
    console.warn(`the JetStream cluster did not form in ${timeoutMs} ms (${JSON.stringify(views)}); starting its nodes again`);
    for (const node of nodes) await node.kill('SIGTERM');
    for (const node of nodes) await node.wipe();
    for (const node of nodes) await node.start();
  }
}

function readLogTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch (error) {
    return `(${(error as Error).message})`;
  }
}

/** Rows of a shard read through the store that holds it, page by page, as a reader on any host would. */
function throughStores(bus: BusConnection): ShardImageIds {
  return async (shard) => {
    const imageIds: number[] = [];
    while (imageIds.length < shard.rows) {
      const reply = await request(bus, readShardRequest, { v: 2, shardId: shard.id, start: imageIds.length, count: shard.rows - imageIds.length }, { address: shard.writer, timeoutMs: 15000 });
      imageIds.push(...reply.imageIds);
    }
    return { rows: imageIds.length, imageIds };
  };
}

export async function startClusterStack(options: ClusterStackOptions): Promise<ClusterStack> {
  const { root } = options;
  const log = options.log ?? (() => undefined);
  const network = createTestNetwork(3);
  const nodes: NatsNode[] = [];
  let pg: OwnPostgres | undefined;
  let bus: BusConnection | undefined;
  const services = new Map<string, ClusterService>();
  const stack: Partial<ClusterStack> = {};

  async function teardown(): Promise<void> {
    await Promise.all([...services.values()].map((s) => s.launched?.stop(3000).catch(() => undefined)));
    await bus?.nc.close().catch(() => undefined);
    await Promise.all(nodes.map((node) => node.kill('SIGTERM').catch(() => undefined)));
    try {
      pg?.stop('immediate');
    } catch {
      // already down
    }
    if (pg) await fs.rm(pg.dir, { recursive: true, force: true });
    network.destroy();
  }

  try {
    const hostDir = (host: TestHost, sub: string) => path.join(root, host.name, sub);
    await fs.mkdir(path.join(root, 'data'), { recursive: true });
    for (const host of network.hosts) {
      for (const sub of ['nats', 'state', 'features', 'artifacts']) await fs.mkdir(hostDir(host, sub), { recursive: true });
    }
    const natsLogs = network.hosts.map((host) => path.join(root, host.name, 'nats.log'));
    nodes.push(...(await Promise.all(network.hosts.map((host, i) => natsNode(host, network.hosts, hostDir(host, 'nats'), natsLogs[i])))));
    await clusterFormed(nodes, natsLogs);
    const host1 = network.hosts[0];
    pg = await ownPostgres({ netns: host1.netns, address: host1.address, port: 5432, trustNetwork: network.subnet });
    const databaseUrl = pg.url.replace(/\/postgres$/, '/featx');
    const natsUrl = nodes.map((node) => node.url).join(',');
    const shared: NodeJS.ProcessEnv = {
      ...process.env,
      FEATX_NATS_URL: natsUrl,
      FEATX_STREAM_REPLICAS: String(options.replicas),
      FEATX_DATABASE_URL: databaseUrl,
      FEATX_NAMESPACE: NAMESPACE,
      FEATX_API_TOKEN: CLUSTER_API_TOKEN,
      // The images, as a data root mounted on every host that reads them.
      FEATX_DATA_ROOTS: `data=${path.join(root, 'data')},shared=${SHARED_DIR}`,
      FEATX_TF_BACKEND: 'wasm',
      FEATX_WEIGHTS_DOWNLOAD: 'false',
      FEATX_ONNX_THREADS: '1',
      FEATX_LOG_LEVEL: 'warn',
      ...options.env,
    };

    const start = async (label: string, extraEnv: NodeJS.ProcessEnv = {}) => {
      const host = network.hosts[HOST_OF[label] - 1];
      if (!host) throw new Error(`no host for service ${label}`);
      const service = serviceOf(label);
      const entry: ClusterService = services.get(label) ?? { label, service, host, pid: () => entry.launched?.pids()[label] };
      services.set(label, entry);
      entry.launched = launchServices(
        [
          {
            service,
            label,
            port: DEFAULT_HTTP_PORTS[service],
            netns: host.netns,
            host: host.address,
            env: {
              // Each host's own disk.
              FEATX_STATE_DIR: hostDir(host, 'state'),
              FEATX_FEATURES_DIR: hostDir(host, 'features'),
              FEATX_ARTIFACTS_DIR: hostDir(host, 'artifacts'),
              FEATX_STORE_ID: `store-${host.name.replace('host', '')}`,
              ...extraEnv,
            },
          },
        ],
        shared,
        log,
      );
      // One that exits before it is ready fails the start at once, naming it (see its log lines).
      await entry.launched.ready(120000);
    };

    const stop = async (label: string, signal: NodeJS.Signals = 'SIGTERM') => {
      const entry = services.get(label);
      const launched = entry?.launched;
      if (!launched) return undefined;
      const pid = launched.pids()[label];
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }, 20000);
      const exit = await launched.exited;
      clearTimeout(timer);
      entry.launched = undefined;
      return exit;
    };

    const query = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => queryOnce<T>(databaseUrl, sql, params);

    // ingest first: it creates the database and applies the migrations.
    await start('ingest');
    const initial = options.services ?? Object.keys(HOST_OF);
    await Promise.all(initial.filter((label) => label !== 'ingest').map((label) => start(label)));
    bus = await connectBus({ url: natsUrl, name: 'featx-cluster-test', namespace: NAMESPACE });

    Object.assign(stack, {
      network,
      nodes,
      pg,
      databaseUrl,
      natsUrl,
      apiUrl: `http://${host1.address}:${DEFAULT_HTTP_PORTS.api}`,
      bus,
      services,
      start,
      stop,
      query,
      async checkSet(featureSetId: string) {
        const client = new Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          return await checkFeatureSet(client, throughStores(bus!), featureSetId);
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      teardown,
    } satisfies ClusterStack);
    return stack as ClusterStack;
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) in parentheses: utime, stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The Postgres server's processes: the postmaster (postmaster.pid) and its children. */
export function postgresPids(pg: OwnPostgres): number[] {
  const postmaster = Number(readFileSync(path.join(pg.dir, 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false; // ended meanwhile
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

/** The node that leads the fewest of the namespace's streams, and the streams it leads. */
export async function leastLeadingNode(stack: ClusterStack): Promise<NatsNode> {
  const leaders = await Promise.all(Object.values(stack.bus.names.streams).map(async (stream) => (await stack.bus.jsm.streams.info(stream)).cluster?.leader));
  const leads = (node: NatsNode) => leaders.filter((leader) => leader === node.name).length;
  return [...stack.nodes].sort((a, b) => leads(a) - leads(b))[0];
}

/**
 * Asks every stream the node leads to elect another leader (JetStream's leader stepdown), and
 * waits until none is led by it: the node then holds replicas and clients, but no stream's head.
 */
export async function moveStreamLeadersOff(stack: ClusterStack, node: NatsNode, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const stream of Object.values(stack.bus.names.streams)) {
    while ((await stack.bus.jsm.streams.info(stream)).cluster?.leader === node.name) {
      if (Date.now() > deadline) throw new Error(`${stream} is still led by ${node.name} after ${timeoutMs} ms of stepdowns`);
      await stack.bus.nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 5000 }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * What the cluster says about the namespace, for a failure's message: each node's own copy of each
 * stream, and each stream's and durable consumer's leader, replicas and counts.
 */
export async function describeCluster(stack: ClusterStack): Promise<string> {
  const copies = await Promise.all(stack.nodes.map((node) => node.streams().catch((error: Error) => ({ error: error.message }))));
  const streams: Record<string, unknown> = {};
  for (const stream of Object.values(stack.bus.names.streams)) {
    try {
      const info = await stack.bus.jsm.streams.info(stream);
      const consumers: Record<string, unknown> = {};
      for await (const consumer of stack.bus.jsm.consumers.list(stream)) {
        consumers[consumer.name] = { pending: consumer.num_pending, ackPending: consumer.num_ack_pending, delivered: consumer.delivered.stream_seq, ackFloor: consumer.ack_floor.stream_seq, leader: consumer.cluster?.leader };
      }
      streams[stream] = { leader: info.cluster?.leader, replicas: info.cluster?.replicas?.map((r) => `${r.name}:${r.current ? 'current' : 'behind'}`), messages: info.state.messages, lastSeq: info.state.last_seq, consumers };
    } catch (error) {
      streams[stream] = { error: (error as Error).message };
    }
  }
  return JSON.stringify({ copies: Object.fromEntries(stack.nodes.map((node, i) => [node.name, copies[i]])), streams });
}
