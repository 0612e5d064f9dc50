import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BadRequestException } from '@nestjs/common';
import { extractFeaturesCommand, extractFeaturesOptionsSchema } from '@featx/contracts';
import { inMemoryBackend, suiteDataRoot } from '@featx/testing';
import { standIn } from '@featx/db/testing';
import { JsonLogger, loadConfig } from '@featx/runtime';
import { FeatureSetsService } from './feature-sets.service';

describe('FeatureSetsService', () => {
  const dataRoot = suiteDataRoot('featx-feature-sets-service-');
  const backend = inMemoryBackend();
  let service: FeatureSetsService;

  beforeAll(async () => {
    await fs.mkdir(path.join(dataRoot.path(), 'models', 'mobilenet'), { recursive: true });
    await fs.writeFile(path.join(dataRoot.path(), 'models', 'notes.txt'), 'not a model');
  });

  beforeEach(() => {
    service = new FeatureSetsService(standIn(backend.featureSets), standIn(backend.datasets), standIn(backend.commands), backend.bus, dataRoot.roots(), standIn({}), loadConfig('api', {}), new JsonLogger('api', 'error'));
  });

  it('dispatches features.extract with the model folder as its real absolute path and the command id as msg id', async () => {
    const dataset = backend.datasets.addReady({ classes: ['cat'] });
    const options = extractFeaturesOptionsSchema.parse({ datasetId: dataset.id, model: 'models/mobilenet', batchSize: 16 });
    const queued = await service.extract(options);

    const command = { ...options, model: path.join(dataRoot.path(), 'models', 'mobilenet') };
    expect(backend.commands.rows.get(queued.commandId)).toMatchObject({ type: extractFeaturesCommand.name, status: 'queued', payload: command });
    expect(backend.bus.dispatched).toEqual([{ contract: extractFeaturesCommand.name, subject: expect.any(String), message: { v: 1, id: queued.commandId, ...command }, msgId: queued.commandId }]);
  });

  it('takes the built-in resnet50 without looking for a folder', async () => {
    const dataset = backend.datasets.addReady({ classes: ['cat'] });
    await service.extract(extractFeaturesOptionsSchema.parse({ datasetId: dataset.id, model: 'resnet50' }));
    expect(backend.bus.messagesOf(extractFeaturesCommand).map((m) => m.model)).toEqual(['resnet50']);
  });

  it('names every bad field in one 400 and records and dispatches nothing', async () => {
    const attempt = service.extract(extractFeaturesOptionsSchema.parse({ datasetId: '1b7e0a4c-0000-4000-8000-000000000000', model: '../outside' }));
    await expect(attempt).rejects.toThrow(BadRequestException);
    const body = (await attempt.catch((error: BadRequestException) => error.getResponse())) as { errors: Array<{ field: string }>; message: string };
    expect(body.errors.map((e) => e.field)).toEqual(['datasetId', 'model']);
    expect(body.message).toMatch(/^datasetId: dataset 1b7e0a4c-.* does not exist; model: .*expected resnet50 or a TF\.js model folder$/);
    expect(backend.commands.rows.size).toBe(0);
    expect(backend.bus.dispatched).toEqual([]);
  });

  it('refuses a model path that is a file, not a folder', async () => {
    const dataset = backend.datasets.addReady({ classes: ['cat'] });
    await expect(service.extract(extractFeaturesOptionsSchema.parse({ datasetId: dataset.id, model: 'models/notes.txt' }))).rejects.toThrow(BadRequestException);
    expect(backend.bus.dispatched).toEqual([]);
  });

  it('refuses precision int8 on the tfjs engine with a 400 naming the field', async () => {
    const dataset = backend.datasets.addReady({ classes: ['cat'] });
    const attempt = service.extract(extractFeaturesOptionsSchema.parse({ datasetId: dataset.id, model: 'resnet50', engine: 'tfjs', precision: 'int8' }));
    const body = (await attempt.catch((error: BadRequestException) => error.getResponse())) as { errors: Array<{ field: string; message: string }> };
    expect(body.errors).toEqual([{ field: 'precision', message: 'precision int8 runs on ONNX Runtime: use engine onnx or auto, not tfjs' }]);
    expect(backend.bus.dispatched).toEqual([]);
  });
});
