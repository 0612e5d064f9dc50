import { randomUUID } from 'node:crypto';
import { firstValueFrom, take, toArray } from 'rxjs';
import type { BusConnection } from '@featx/bus';
import { busNames, encodeMessage } from '@featx/contracts';
import { JsonLogger } from '@featx/runtime';
import { BusEventsService, LiveEvent } from './bus-events.service';

type Callback = (error: Error | null, message: { subject: string; data: Uint8Array }) => void;

/** The core NATS side of a connection: subscriptions by subject, and a way to deliver to them. */
function fakeBus() {
  const names = busNames('web');
  const subscriptions = new Map<string, Callback>();
  const unsubscribed: string[] = [];
  const bus = {
    names,
    nc: {
      subscribe(subject: string, options: { callback: Callback }) {
        subscriptions.set(subject, options.callback);
        return { unsubscribe: () => unsubscribed.push(subject) };
      },
    },
  } as unknown as BusConnection;
  const deliver = (subject: string, message: unknown) => subscriptions.get(subject)!(null, { subject, data: encodeMessage(message) });
  return { bus, names, subscriptions, unsubscribed, deliver };
}

describe('BusEventsService (the bus events the console follows over SSE)', () => {
  const runId = randomUUID();
  const epoch = (n: number, id = runId) => ({ v: 1, runId: id, epoch: n, epochs: 3, trainLoss: 1 / n, trainAccuracy: 0.5, valLoss: null, valAccuracy: null, durationMs: 10, rowsPerSecond: 100 });

  it('subscribes only once someone follows, then once for everyone', () => {
    const { bus, subscriptions } = fakeBus();
    const service = new BusEventsService(bus, new JsonLogger('api', 'error'));
    expect(subscriptions.size).toBe(0);
    service.run(runId).subscribe();
    service.featureSets().subscribe();
    expect([...subscriptions.keys()].sort()).toEqual(['web.evt.commands.finished', 'web.evt.features.progress', 'web.evt.runs.epoch', 'web.evt.runs.status']);
  });

  it("gives a run's viewer that run's epoch and status events only, validated", async () => {
    const { bus, names, deliver } = fakeBus();
    const service = new BusEventsService(bus, new JsonLogger('api', 'error'));
    const seen = firstValueFrom(service.run(runId).pipe(take(3), toArray()));
    deliver(names.subjects.runEpoch, epoch(1));
    deliver(names.subjects.runEpoch, epoch(1, randomUUID()));
    deliver(names.subjects.runEpoch, epoch(2));
    deliver(names.subjects.runStatus, { v: 1, runId, status: 'succeeded', error: null });
    const events: LiveEvent[] = await seen;
    const fields = (e: LiveEvent) => e.data as { runId?: string; epoch?: number; status?: string };
    expect(events.every((e) => fields(e).runId === runId)).toBe(true);
    expect(events.map((e) => [e.type, fields(e).epoch ?? fields(e).status])).toEqual([
      ['runs.epoch', 1],
      ['runs.epoch', 2],
      ['runs.status', 'succeeded'],
    ]);
  });

  it('drops an invalid event with a warning naming it, and goes on', async () => {
    const { bus, names, deliver } = fakeBus();
    const logger = new JsonLogger('api', 'error');
    const warn = jest.spyOn(logger, 'warn');
    const service = new BusEventsService(bus, logger);
    const next = firstValueFrom(service.run(runId));
    deliver(names.subjects.runEpoch, { v: 1, runId, epoch: 'one' });
    deliver(names.subjects.runEpoch, epoch(3));
    expect((await next).data).toMatchObject({ epoch: 3 });
    expect(warn).toHaveBeenCalledWith('ignored an invalid live event', expect.objectContaining({ subject: 'web.evt.runs.epoch', error: expect.stringMatching(/epoch/) }));
  });

  it("gives a command's viewer its commands.finished event", async () => {
    const { bus, names, deliver } = fakeBus();
    const service = new BusEventsService(bus, new JsonLogger('api', 'error'));
    const commandId = randomUUID();
    const finished = firstValueFrom(service.command(commandId));
    deliver(names.subjects.commandFinished, { v: 1, commandId: randomUUID(), type: 'datasets.register', status: 'failed', result: null, error: 'other' });
    deliver(names.subjects.commandFinished, { v: 1, commandId, type: 'datasets.register', status: 'succeeded', result: { images: 3 }, error: null });
    expect((await finished).data).toMatchObject({ commandId, status: 'succeeded', result: { images: 3 } });
  });

  it('unsubscribes when the API stops', () => {
    const { bus, unsubscribed } = fakeBus();
    const service = new BusEventsService(bus, new JsonLogger('api', 'error'));
    service.featureSets().subscribe();
    service.onModuleDestroy();
    expect(unsubscribed).toHaveLength(4);
  });
});
