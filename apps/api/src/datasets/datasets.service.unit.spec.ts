import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BadRequestException, NotFoundException } from '@nestjs/common';
import { registerDatasetCommand, registerDatasetOptionsSchema } from '@featx/contracts';
import { inMemoryBackend, suiteDataRoot } from '@featx/testing';
import { standIn } from '@featx/db/testing';
import { DatasetsService } from './datasets.service';

describe('DatasetsService', () => {
  const dataRoot = suiteDataRoot('featx-datasets-service-');
  const backend = inMemoryBackend();
  let service: DatasetsService;

  beforeAll(async () => {
    await fs.mkdir(path.join(dataRoot.path(), 'photos'));
  });

  beforeEach(() => {
    service = new DatasetsService(standIn(backend.datasets), standIn(backend.commands), backend.bus, dataRoot.roots());
  });

  it('records datasets.register as queued, then dispatches it with the command id as msg id', async () => {
    const options = registerDatasetOptionsSchema.parse({ path: 'photos', layout: 'class', seed: 7 });
    const queued = await service.register(options);

    expect(queued).toEqual({ commandId: expect.any(String), type: registerDatasetCommand.name, status: 'queued' });
    expect(backend.commands.rows.get(queued.commandId)).toMatchObject({ type: registerDatasetCommand.name, status: 'queued', payload: options });
    expect(backend.bus.dispatched).toEqual([
      { contract: registerDatasetCommand.name, subject: expect.any(String), message: { v: 1, id: queued.commandId, ...options }, msgId: queued.commandId },
    ]);
  });

  it.each([
    ['a folder outside the data roots', '/etc'],
    ['a path that climbs out', '../../..'],
    ['a folder that does not exist', 'no-such-folder'],
  ])('refuses %s with a 400 naming "path", recording and dispatching nothing', async (_case, folder) => {
    const attempt = service.register(registerDatasetOptionsSchema.parse({ path: folder }));
    await expect(attempt).rejects.toThrow(BadRequestException);
    const body = await attempt.catch((error: BadRequestException) => error.getResponse());
    expect(body).toMatchObject({ statusCode: 400, message: expect.stringMatching(/^path: /), errors: [{ field: 'path', message: expect.any(String) }] });
    expect(backend.commands.rows.size).toBe(0);
    expect(backend.bus.dispatched).toEqual([]);
  });

  it('leaves the command recorded as queued when the dispatch fails, and says why', async () => {
    backend.bus.failDispatches(new Error('JetStream unavailable'));
    await expect(service.register(registerDatasetOptionsSchema.parse({ path: 'photos' }))).rejects.toThrow('JetStream unavailable');
    expect([...backend.commands.rows.values()].map((c) => c.status)).toEqual(['queued']);
  });

  it('counts present images by split and class; an unknown id is a 404', async () => {
    const dataset = backend.datasets.addReady({ classes: ['cat', 'dog'] }, [
      { path: 'photos/training/cat/1.jpg', label: 'cat', split: 'training' },
      { path: 'photos/training/cat/2.jpg', label: 'cat', split: 'training' },
      { path: 'photos/training/dog/1.jpg', label: 'dog', split: 'training' },
      { path: 'photos/validation/dog/2.jpg', label: 'dog', split: 'validation' },
      { path: 'photos/loose/cat.jpg', label: 'cat', split: null },
    ]);
    backend.datasets.images[1]!.status = 'missing';

    const details = await service.get(dataset.id);
    expect(details.counts).toEqual({
      bySplit: { training: 2, validation: 1, unassigned: 1 },
      byClass: { cat: 2, dog: 2 },
      bySplitAndClass: { training: { cat: 1, dog: 1 }, validation: { dog: 1 }, unassigned: { cat: 1 } },
    });
    expect(details).toMatchObject({ id: dataset.id, classes: ['cat', 'dog'], status: 'ready', createdAt: dataset.createdAt.toISOString() });
    await expect(service.get('5f0c6f0e-0000-4000-8000-000000000000')).rejects.toThrow(NotFoundException);
  });
});
