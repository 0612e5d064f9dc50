import { BadRequestException, ConflictException } from '@nestjs/common';
import { cancelRunCommand, createRunCommand, RunPhase, trainingConfigSchema } from '@featx/contracts';
import { inMemoryBackend } from '@featx/testing';
import { InMemoryFeatureSetsRepository, standIn } from '@featx/db/testing';
import { ArtifactObjects, ArtifactStore } from '@featx/bus';
import { RunsService } from './runs.service';

/** Published objects in memory, as the object store answers `get`: info with the digest, the bytes as a web stream. */
const stored = new Map<string, { digest: string; bytes: Uint8Array }>();
const objects = {
  async get(name: string) {
    const object = stored.get(name);
    if (!object) return null;
    return {
      info: { name, digest: object.digest, size: object.bytes.length },
      data: new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(object.bytes), c.close()) }),
      error: Promise.resolve(null),
    };
  },
} as unknown as ArtifactObjects;

describe('RunsService', () => {
  const backend = inMemoryBackend();
  let service: RunsService;
  let datasetId: string;

  beforeEach(() => {
    datasetId = backend.datasets.addReady({ classes: ['cat', 'dog'] }).id;
    // Only a run the trainer has not created yet is looked up in the database: not in these tests.
    service = new RunsService(standIn(backend.runs), standIn(backend.featureSets), standIn(backend.commands), backend.bus, standIn({}), ArtifactStore.over(objects, 'test-artifacts'), standIn({ list: async () => [] }), standIn({ of: async () => [] }));
  });

  it('records runs.create with a run id chosen here, then dispatches it with the command id as msg id', async () => {
    const set = backend.featureSets.add({ datasetId, status: 'complete' });
    const config = trainingConfigSchema.parse({ featureSetId: set.id, epochs: 3 });
    const queued = await service.create(config);

    expect(queued).toEqual({ commandId: expect.any(String), runId: expect.any(String), type: createRunCommand.name, status: 'queued' });
    expect(backend.commands.rows.get(queued.commandId)).toMatchObject({ status: 'queued', payload: { ...config, runId: queued.runId } });
    expect(backend.bus.dispatched).toEqual([
      { contract: createRunCommand.name, subject: expect.any(String), message: { v: 1, id: queued.commandId, ...config, runId: queued.runId }, msgId: queued.commandId },
    ]);
  });

  it.each([
    ['a feature set that does not exist', () => '0d5f3a52-0000-4000-8000-000000000000', {}, /^featureSetId: feature set .* does not exist$/],
    ['a feature set still extracting', (s: InMemoryFeatureSetsRepository, d: string) => s.add({ datasetId: d, status: 'running' }).id, {}, /^featureSetId: .* is running, not complete/],
    ['hidden layers for a logistic head', (s: InMemoryFeatureSetsRepository, d: string) => s.add({ datasetId: d, status: 'complete' }).id, { head: 'logistic', hidden: [8] }, /^hidden: hidden layers are for the mlp head/],
  ])('refuses %s with a 400 naming the field, recording and dispatching nothing', async (_case, setId, extra, message) => {
    const attempt = service.create(trainingConfigSchema.parse({ featureSetId: setId(backend.featureSets, datasetId), ...extra }));
    await expect(attempt).rejects.toThrow(BadRequestException);
    expect(await attempt.catch((error: BadRequestException) => (error.getResponse() as { message: string }).message)).toMatch(message);
    expect(backend.commands.rows.size).toBe(0);
    expect(backend.bus.dispatched).toEqual([]);
  });

  it('cancels a queued or running run through runs.cancel; a finished one is a 409 with nothing dispatched', async () => {
    const set = backend.featureSets.add({ datasetId, status: 'complete' });
    const queuedRun = await backend.runs.createQueued({ id: 'a9d3c0de-0000-4000-8000-000000000001', featureSetId: set.id, config: {}, classes: [] });
    const cancel = await service.cancel(queuedRun.id);
    expect(cancel).toEqual({ commandId: expect.any(String), runId: queuedRun.id, type: cancelRunCommand.name, status: 'queued' });
    expect(backend.bus.messagesOf(cancelRunCommand)).toEqual([{ v: 1, id: cancel.commandId, runId: queuedRun.id }]);
    expect(backend.bus.dispatched[0]!.msgId).toBe(cancel.commandId);

    await backend.runs.finish(queuedRun.id, 'succeeded');
    await expect(service.cancel(queuedRun.id)).rejects.toThrow(new ConflictException(`run ${queuedRun.id} is already succeeded`));
    expect(backend.bus.dispatched).toHaveLength(1);
  });

  it('shows what a running run is doing now (its phase) in the run and in the list, and nothing once it has ended', async () => {
    const set = backend.featureSets.add({ datasetId, status: 'complete' });
    const id = 'a9d3c0de-0000-4000-8000-000000000002';
    await backend.runs.createQueued({ id, featureSetId: set.id, config: { epochs: 10 }, classes: [] });
    expect((await service.get(id)).phase).toBeNull();
    await backend.runs.claimNext('trainer-1', new Date());

    const phase: RunPhase = { step: 'choosing-l2', unit: 'rows', done: 9204, total: 31021, rowsPerSecond: 1480.2, candidates: 5, epoch: 3, epochs: 10 };
    expect(await backend.runs.setPhase(id, 'trainer-1', phase)).toBe(true);
    // Only the trainer holding the run writes its phase.
    expect(await backend.runs.setPhase(id, 'trainer-2', { ...phase, done: 0 })).toBe(false);
    expect((await service.get(id)).phase).toEqual(phase);
    expect((await service.list({ limit: 100 }, set.id)).items.map((r) => r.phase)).toEqual([phase]);

    await backend.runs.finish(id, 'succeeded');
    expect((await service.get(id)).phase).toBeNull();
    expect(await backend.runs.setPhase(id, 'trainer-1', phase)).toBe(false);
  });

  it('lists what a run published and streams one object checked against its digest; anything else is a 404 saying what there is', async () => {
    const set = backend.featureSets.add({ datasetId, status: 'complete' });
    const id = 'a9d3c0de-0000-4000-8000-000000000003';
    await backend.runs.createQueued({ id, featureSetId: set.id, config: {}, classes: [] });
    await backend.runs.finish(id, 'succeeded');
    expect(await service.artifacts(id)).toEqual({ runId: id, status: 'succeeded', bucket: 'test-artifacts', artifacts: [] });
    await expect(service.artifact(id, 'curves.svg')).rejects.toThrow(`run ${id} has no artifact "curves.svg": it has published nothing (trained before runs published their artifacts)`);

    const published = [
      { name: 'curves.svg', bytes: 6, digest: 'SHA-256=one' },
      { name: 'model/model.json', bytes: 2, digest: 'SHA-256=two' },
    ];
    backend.runs.runs.set(id, { ...backend.runs.runs.get(id)!, publishedArtifacts: published });
    stored.set(`${id}/curves.svg`, { digest: 'SHA-256=one', bytes: Buffer.from('<svg/>') });
    stored.set(`${id}/model/model.json`, { digest: 'SHA-256=other', bytes: Buffer.from('{}') });
    expect((await service.artifacts(id)).artifacts).toEqual(published);

    const svg = await service.artifact(id, 'curves.svg');
    expect(svg.contentType).toBe('image/svg+xml');
    expect(Buffer.concat(await svg.body.toArray()).toString()).toBe('<svg/>');
    const replaced = service.artifact(id, 'model/model.json');
    await expect(replaced).rejects.toThrow(ConflictException);
    await expect(replaced).rejects.toThrow(/model\/model\.json changed since it was published/);
    await expect(service.artifact(id, 'confusion.png')).rejects.toThrow(`run ${id} has no artifact "confusion.png": it published curves.svg, model/model.json`);
  });
});
