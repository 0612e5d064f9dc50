import { runStatusEvent } from '@featx/contracts';
import { inMemoryBackend } from '@featx/testing';
import { standIn } from '@featx/db/testing';
import type { RunRow } from '@featx/db';
import { JsonLogger, loadConfig } from '@featx/runtime';
import type { RunExecutor, RunOutcome } from './run-executor.service';
import { RunEvents } from './run-events.service';
import { RunScheduler } from './run-scheduler.service';
import { TrainerSlots } from './trainer-slots';

/** An executor whose runs end when the test says so. */
class ControlledExecutor implements Pick<RunExecutor, 'execute'> {
  readonly started: string[] = [];
  readonly signals = new Map<string, AbortSignal>();
  private readonly endings = new Map<string, (outcome: RunOutcome) => void>();

  execute(run: RunRow, _worker: string, signal: AbortSignal): Promise<RunOutcome> {
    this.started.push(run.id);
    this.signals.set(run.id, signal);
    return new Promise((resolve) => this.endings.set(run.id, resolve));
  }

  end(runId: string, outcome: RunOutcome): void {
    this.endings.get(runId)!(outcome);
  }
}

/** Run ids are UUIDs: the status events' contract checks them. */
const runId = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;

/** Lets the scheduler's promise chains (claim, settle, wake) run to their end. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('RunScheduler', () => {
  const backend = inMemoryBackend();
  let executor: ControlledExecutor;
  let scheduler: RunScheduler;
  let slots: TrainerSlots;

  beforeEach(async () => {
    executor = new ControlledExecutor();
    slots = new TrainerSlots();
    const config = loadConfig('trainer', { FEATX_TRAINER_CONCURRENCY: '2', FEATX_SHUTDOWN_TIMEOUT_MS: '200' });
    scheduler = new RunScheduler(standIn(backend.runs), standIn(executor), new RunEvents(backend.bus), config, new JsonLogger('trainer', 'error'), slots);
    for (const n of [1, 2, 3]) await backend.runs.createQueued({ id: runId(n), featureSetId: 'set', config: {}, classes: [] });
  });
  afterEach(() => scheduler.beforeApplicationShutdown());

  const statuses = () => backend.bus.messagesOf(runStatusEvent).map((e) => `run-${e.runId.slice(-1)}:${e.status}`);

  it('claims the oldest queued runs, at most `concurrency` at once, and the next when one ends', async () => {
    scheduler.wake();
    await settle();
    expect(executor.started).toEqual([runId(1), runId(2)]);
    expect((await backend.runs.get(runId(3)))!.status).toBe('queued');

    executor.end(runId(1), { status: 'succeeded' });
    await settle();
    expect(executor.started).toEqual([runId(1), runId(2), runId(3)]);
    expect(await backend.runs.get(runId(1))).toMatchObject({ status: 'succeeded', error: null, worker: scheduler.worker });
    expect(statuses()).toEqual(['run-1:running', 'run-2:running', 'run-1:succeeded', 'run-3:running']);
  });

  it('a run waiting for its search shares frees its slot at once: the next run is claimed in its place, and none once it stops waiting', async () => {
    scheduler.wake();
    await settle();
    expect(executor.started).toEqual([runId(1), runId(2)]);
    let stopWaiting!: () => void;
    const waiting = slots.whileWaiting(runId(1), () => new Promise<void>((resolve) => (stopWaiting = resolve)));
    await settle();
    expect(executor.started).toEqual([runId(1), runId(2), runId(3)]);
    stopWaiting();
    await waiting;
    await backend.runs.createQueued({ id: runId(4), featureSetId: 'set', config: {}, classes: [] });
    scheduler.wake();
    await settle();
    // Three runs held, none waiting: over concurrency until one ends.
    expect(executor.started).toEqual([runId(1), runId(2), runId(3)]);
    executor.end(runId(3), { status: 'succeeded' });
    executor.end(runId(2), { status: 'succeeded' });
    await settle();
    expect(executor.started).toEqual([runId(1), runId(2), runId(3), runId(4)]);
  });

  it('records a failure with its reason and announces it', async () => {
    scheduler.wake();
    await settle();
    executor.end(runId(2), { status: 'failed', error: 'feature set shards are damaged' });
    await settle();
    expect(await backend.runs.get(runId(2))).toMatchObject({ status: 'failed', error: 'feature set shards are damaged' });
    expect(backend.bus.messagesOf(runStatusEvent)).toContainEqual({ v: 1, runId: runId(2), status: 'failed', error: 'feature set shards are damaged' });
  });

  it('on shutdown aborts its runs, and a released run is left running for another trainer to take at once', async () => {
    scheduler.wake();
    await settle();
    const stopping = scheduler.beforeApplicationShutdown();
    expect([...executor.signals.values()].map((s) => s.aborted)).toEqual([true, true]);
    executor.end(runId(1), { status: 'released' });
    executor.end(runId(2), { status: 'released' });
    await stopping;

    expect(executor.started).toEqual([runId(1), runId(2)]); // nothing new claimed while stopping
    expect(await backend.runs.get(runId(1))).toMatchObject({ status: 'running', heartbeatAt: new Date(0) });
    const other = await backend.runs.claimNext('other-trainer', new Date(Date.now() - 60_000));
    expect(other).toMatchObject({ id: runId(1), worker: 'other-trainer', resumes: 1 });
    expect(statuses()).toEqual(['run-1:running', 'run-2:running']);
  });

  it('keeps training when the status event cannot be published', async () => {
    backend.bus.failDispatches(new Error('JetStream unavailable'));
    scheduler.wake();
    await settle();
    executor.end(runId(1), { status: 'succeeded' });
    await settle();
    expect((await backend.runs.get(runId(1)))!.status).toBe('succeeded');
    expect(executor.started).toEqual([runId(1), runId(2), runId(3)]);
  });
});
