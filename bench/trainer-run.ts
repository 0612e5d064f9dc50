import { connectBus, publish } from '@featx/bus';
import { createRunCommand } from '@featx/contracts';
import { launchServices, serviceInstances } from '../tools/service-launcher';
import { BenchStack } from './bench-stack';
import { cpuSeconds, peakRssMiB } from './proc-stats';

/** A run's options besides its feature set (the createRunCommand body). */
export type BenchRunOptions = Omit<Parameters<typeof publish<typeof createRunCommand>>[2], 'v' | 'featureSetId'>;

export interface BenchRunResult {
  /** Training rows over the best epoch's own time (the trainer's epoch metric). */
  bestEpochRowsPerSecond: number;
  /** Training rows of every epoch over the time from the command to the run's end. */
  wholeRunRowsPerSecond: number;
  wallSeconds: number;
  evaluationAccuracy: number | null;
  /** Peak RSS (VmHWM) of each service process, MiB. */
  peakRssMiB: { trainer: number; featureStore: number };
  /** CPU seconds each service process used from the command to the run's end (its start left out). */
  cpuSeconds: { trainer: number; featureStore: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a feature-store and a trainer process on `stack` (as a deployment runs them, `env` on top
 * of the stack's), publishes one training run, waits for it and reads its metrics and each
 * process's peak RSS.
 */
export async function benchTrainerRun(stack: Pick<BenchStack, 'featureSetId' | 'namespace' | 'db' | 'env'>, run: BenchRunOptions, env: NodeJS.ProcessEnv = {}, trainingRows?: number): Promise<BenchRunResult> {
  const instances = serviceInstances(1, 950).filter((i) => i.service === 'feature-store' || i.service === 'trainer');
  const services = launchServices(instances, { ...stack.env, ...env }, (line) => /"level":"error"/.test(line) && console.error(line));
  const bus = await connectBus({ url: stack.env.FEATX_NATS_URL!, name: 'bench-trainer', namespace: stack.namespace });
  try {
    await services.ready(60000);
    const cpuAtStart = { trainer: cpuSeconds(services.pids().trainer), featureStore: cpuSeconds(services.pids()['feature-store']) };
    const earlier = (await stack.db.query('SELECT id FROM training_runs')).rows.map((r) => r.id as string);
    const started = Date.now();
    await publish(bus, createRunCommand, { v: 1, featureSetId: stack.featureSetId, ...run });
    for (;;) {
      const current = (await stack.db.query('SELECT id, status, error FROM training_runs WHERE NOT (id = ANY($1::uuid[]))', [earlier])).rows[0];
      if (current && current.status !== 'queued' && current.status !== 'running') {
        if (current.status !== 'succeeded') throw new Error(`run ${current.status}: ${current.error}`);
        const wallSeconds = (Date.now() - started) / 1000;
        const { rows: epochs } = await stack.db.query('SELECT rows_per_second FROM epoch_metrics WHERE run_id = $1 ORDER BY epoch', [current.id]);
        const { rows: evaluated } = await stack.db.query("SELECT accuracy FROM evaluations WHERE run_id = $1 AND split = 'evaluation'", [current.id]);
        const pids = services.pids();
        const rows = trainingRows ?? 0;
        return {
          bestEpochRowsPerSecond: Math.max(...epochs.map((e) => e.rows_per_second)),
          wholeRunRowsPerSecond: (rows * epochs.length) / wallSeconds,
          wallSeconds,
          evaluationAccuracy: evaluated[0]?.accuracy ?? null,
          peakRssMiB: { trainer: peakRssMiB(pids.trainer), featureStore: peakRssMiB(pids['feature-store']) },
          cpuSeconds: { trainer: cpuSeconds(pids.trainer) - cpuAtStart.trainer, featureStore: cpuSeconds(pids['feature-store']) - cpuAtStart.featureStore },
        };
      }
      await sleep(200);
    }
  } finally {
    await services.stop(5000);
    await bus.nc.close();
  }
}
