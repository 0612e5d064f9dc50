/**
 * Test hosts on one machine: each a Linux network namespace with its own address, joined by veth
 * pairs to a bridge in the root namespace (which has an address too, so this process reaches every
 * host). A host "cut off the network" is its veth taken down. Needs root and iproute2.
 *
 * Names carry this process's pid (`fx<pid>h1`, bridge `fxb<pid>`): concurrent runs never clash, and
 * a run finds what a crashed earlier one left (its pid no longer alive) and deletes it first.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export interface TestHost {
  /** host1, host2, ... */
  name: string;
  /** Its network namespace: services run in it with `ip netns exec <netns>`. */
  netns: string;
  address: string;
  /** The root namespace's end of its veth pair: down = the host is cut off. */
  veth: string;
}

export interface TestNetwork {
  hosts: TestHost[];
  bridge: string;
  /** The hosts' network, e.g. 10.213.57.0/24. */
  subnet: string;
  /** The root namespace's address on the bridge. */
  gateway: string;
  /** Takes the host's link down: nothing reaches it, it reaches nothing. */
  cut(host: TestHost): void;
  /** Brings it back. */
  restore(host: TestHost): void;
  /** Deletes the namespaces, veths and the bridge (whatever of them exists). */
  destroy(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const ipQuiet = (...args: string[]) => spawnSync('ip', args, { stdio: 'ignore' }).status === 0;

/** Why test hosts cannot be made here, or undefined when they can (tried for real, then undone). */
export function testHostsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'iproute2 (`ip`) is not installed';
  const probe = `fx${process.pid}probe`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (added.status !== 0) return `ip netns add failed: ${added.stderr.trim()}`;
  const linked = spawnSync('ip', ['link', 'add', `fxq${process.pid}`, 'type', 'bridge'], { encoding: 'utf8' });
  ipQuiet('link', 'del', `fxq${process.pid}`);
  ipQuiet('netns', 'del', probe);
  if (linked.status !== 0) return `ip link add (bridge) failed: ${linked.stderr.trim()}`;
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes namespaces and links of runs whose process is gone (and of this pid, from an earlier life). */
export function deleteLeftovers(): string[] {
  const deleted: string[] = [];
  const stale = (pid: string) => Number(pid) === process.pid || !alive(Number(pid));
  for (const line of ip('netns', 'list').split('\n')) {
    const match = /^(fx(\d+)(h\d+|probe))\b/.exec(line.trim());
    if (match && stale(match[2]) && ipQuiet('netns', 'del', match[1])) deleted.push(match[1]);
  }
  for (const line of ip('-o', 'link', 'show').split('\n')) {
    const match = /^\d+: (fx[bvpq](\d+)(h\d+)?)[@:]/.exec(line);
    if (match && stale(match[2]) && ipQuiet('link', 'del', match[1])) deleted.push(match[1]);
  }
  return deleted;
}

/** A /24 under 10.213.0.0/16 that no interface of this machine uses yet. */
function freeSubnet(): number {
  const used = ip('-o', '-4', 'addr', 'show');
  for (let tries = 0; tries < 256; tries++) {
    const third = Math.floor(Math.random() * 250) + 1;
    if (!used.includes(`10.213.${third}.`)) return third;
  }
  throw new Error('no free 10.213.x.0/24 subnet for the test hosts');
}

export function createTestNetwork(count: number): TestNetwork {
  const leftovers = deleteLeftovers();
  if (leftovers.length) console.warn(`test hosts: deleted leftovers of earlier runs: ${leftovers.join(', ')}`);
  const third = freeSubnet();
  const tag = `fx${process.pid}`;
  const bridge = `fxb${process.pid}`;
  const hosts: TestHost[] = [];
  const network: TestNetwork = {
    hosts,
    bridge,
    subnet: `10.213.${third}.0/24`,
    gateway: `10.213.${third}.254`,
    cut: (host) => ip('link', 'set', host.veth, 'down') && undefined,
    restore: (host) => ip('link', 'set', host.veth, 'up') && undefined,
    destroy() {
      for (const host of hosts) {
        ipQuiet('netns', 'del', host.netns); // takes the peer end, and with it the pair
        ipQuiet('link', 'del', host.veth);
      }
      ipQuiet('link', 'del', bridge);
    },
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${network.gateway}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    for (let i = 1; i <= count; i++) {
      const host: TestHost = { name: `host${i}`, netns: `${tag}h${i}`, address: `10.213.${third}.${i}`, veth: `fxv${process.pid}h${i}` };
      hosts.push(host);
      const peer = `fxp${process.pid}h${i}`;
      ip('netns', 'add', host.netns);
      ip('link', 'add', host.veth, 'type', 'veth', 'peer', 'name', peer);
      ip('link', 'set', peer, 'netns', host.netns);
      ip('link', 'set', host.veth, 'master', bridge);
      ip('link', 'set', host.veth, 'up');
      const inHost = (...args: string[]) => ip('-n', host.netns, ...args);
      inHost('link', 'set', 'lo', 'up');
      inHost('link', 'set', peer, 'name', 'eth0');
      inHost('addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      inHost('link', 'set', 'eth0', 'up');
    }
  } catch (error) {
    network.destroy();
    throw error;
  }
  return network;
}
