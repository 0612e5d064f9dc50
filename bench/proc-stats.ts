import { readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';

/** What benches read of processes and the machine from /proc (Linux). */

/** Machine-wide CPU ticks: [busy, idle] (idle includes iowait). */
export function machineTicks(): [number, number] {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  return [f.reduce((a, b) => a + b, 0) - idle, idle];
}

/** The machine's busy share between two machineTicks() readings, 0-1. */
export function busyShare(from: [number, number], to: [number, number]): number {
  const busy = to[0] - from[0];
  const idle = to[1] - from[1];
  return busy + idle > 0 ? busy / (busy + idle) : 0;
}

/** `load 1/5/15 min 3.1 2.8 2.0 on 2 cores`: how loaded the shared machine was. */
export function loadLine(): string {
  return `load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min) on ${os.availableParallelism()} cores`;
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

/** CPU seconds of each of these processes so far; one that has ended is left out. */
export function cpuSecondsByPid(pids: Iterable<number>): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const pid of pids) {
    try {
      seconds.set(pid, cpuSeconds(pid));
    } catch {
      // ended
    }
  }
  return seconds;
}

/** CPU seconds used between two cpuSecondsByPid readings; a process absent at `from` started since and counts whole. */
export function cpuSecondsBetween(from: Map<number, number>, to: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of to) total += seconds - (from.get(pid) ?? 0);
  return total;
}

/** The processes whose command name (/proc/<pid>/comm) is `name`, e.g. `nats-server`. */
export function processesNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // ended while listed
    }
  }
  return pids;
}

function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  } catch {
    return 0; // the process has ended
  }
}

/** A process's peak resident set so far, MiB. */
export function peakRssMiB(pid: number): number {
  return Math.round(statusKiB(pid, 'VmHWM') / 1024);
}

/** A process's resident set now, MiB. */
export function rssMiB(pid: number): number {
  return Math.round(statusKiB(pid, 'VmRSS') / 1024);
}
