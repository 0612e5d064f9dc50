import { extractFeaturesOptionsSchema, extractWorkItem } from '@featx/contracts';
import { inMemoryBackend, suiteDataRoot } from '@featx/testing';
import { DatasetInputError } from '@featx/datasets';
import { standIn } from '@featx/db/testing';
import { JsonLogger } from '@featx/runtime';
import { ExtractionPlanner } from './extraction-planner.service';

describe('ExtractionPlanner', () => {
  const dataRoot = suiteDataRoot('featx-planner-');
  const backend = inMemoryBackend();
  let planner: ExtractionPlanner;

  beforeEach(() => {
    planner = new ExtractionPlanner(standIn(backend.datasets), standIn(backend.featureSets), dataRoot.roots(), backend.bus, new JsonLogger('feature-store', 'error'));
  });

  /** A ready dataset of `count` images alternating cat/dog over the three splits. */
  function dataset(count: number) {
    const splits = ['training', 'validation', 'evaluation'] as const;
    return backend.datasets.addReady(
      { classes: ['cat', 'dog'] },
      Array.from({ length: count }, (_, i) => ({ path: `photos/${i}.jpg`, label: i % 2 ? 'dog' : 'cat', split: splits[i % 3]! })),
    );
  }
  const options = (datasetId: string, batchSize: number) => extractFeaturesOptionsSchema.parse({ datasetId, model: 'resnet50', batchSize });

  it('cuts the images into work items of batchSize, each named by its image ids and sent with that msg id', async () => {
    const ready = dataset(10);
    const plan = await planner.plan(options(ready.id, 4), () => undefined);

    expect(plan).toMatchObject({ images: 10, alreadyDone: 0, pending: 10, workItems: 3, status: 'running' });
    const items = backend.bus.messagesOf(extractWorkItem);
    expect(items.map((item) => item.items.map((ref) => ref.imageId))).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]);
    expect(items.map((item) => item.workId)).toEqual([`${plan.featureSetId}:1-4`, `${plan.featureSetId}:5-8`, `${plan.featureSetId}:9-10`]);
    expect(backend.bus.dispatched.map((d) => d.msgId)).toEqual(items.map((item) => item.workId));
    expect(items[0]!.items[1]).toEqual({ imageId: 2, root: 'data', path: 'photos/1.jpg', label: 1, split: 'validation' });
  });

  it('plans only the images with neither a vector nor a recorded failure', async () => {
    const ready = dataset(6);
    const first = await planner.plan(options(ready.id, 64), () => undefined);
    backend.featureSets.storeVectors(first.featureSetId, [1, 2, 4]);
    backend.featureSets.recordFailure(first.featureSetId, 5, 'unreadable');

    const replan = await planner.plan(options(ready.id, 64), () => undefined);
    expect(backend.bus.messagesOf(extractWorkItem).slice(1).map((item) => item.items.map((ref) => ref.imageId))).toEqual([[3, 6]]);
  });

  it('keeps work items full across the 2,000-image windows it reads, when done images leave gaps', async () => {
    const ready = dataset(4500);
    const first = await planner.plan(options(ready.id, 64), () => undefined);
    // Everything done but 100 images at the end of the first window and 100 at the start of the second.
    const left = new Set([...Array.from({ length: 100 }, (_, i) => 1901 + i), ...Array.from({ length: 100 }, (_, i) => 2001 + i)]);
    backend.featureSets.storeVectors(first.featureSetId, Array.from({ length: 4500 }, (_, i) => i + 1).filter((id) => !left.has(id)));
    const before = backend.bus.messagesOf(extractWorkItem).length;

    const replan = await planner.plan(options(ready.id, 64), () => undefined);
    const items = backend.bus.messagesOf(extractWorkItem).slice(before).map((item) => item.items.map((ref) => ref.imageId));
    expect(replan).toMatchObject({ alreadyDone: 4300, pending: 200, workItems: 4 });
    expect(items.map((ids) => ids.length)).toEqual([64, 64, 64, 8]);
    expect(items.flat()).toEqual([...left]);
  });

  it('dispatches nothing for a complete set', async () => {
    const ready = dataset(2);
    const first = await planner.plan(options(ready.id, 64), () => undefined);
    backend.featureSets.storeVectors(first.featureSetId, [1, 2]);
    const before = backend.bus.dispatched.length;
    expect(await planner.plan(options(ready.id, 64), () => undefined)).toMatchObject({ status: 'complete', pending: 0, workItems: 0 });
    expect(backend.bus.dispatched).toHaveLength(before);
  });

  it('refuses an unknown or unready dataset with the reason, dispatching nothing', async () => {
    await expect(planner.plan(options('7f3e2d1c-0000-4000-8000-000000000000', 4), () => undefined)).rejects.toThrow(
      new DatasetInputError('dataset 7f3e2d1c-0000-4000-8000-000000000000 does not exist'),
    );
    const registering = backend.datasets.addReady({ classes: ['cat'], name: 'half', status: 'registering' });
    await expect(planner.plan(options(registering.id, 4), () => undefined)).rejects.toThrow('dataset half is registering, not ready');
    expect(backend.bus.dispatched).toEqual([]);
  });

  it('plans int8 sets with a calibration sample and a disjoint held-back sample of the training split, as a separate set', async () => {
    const ready = dataset(300); // 100 training images
    const fp32 = await planner.plan(options(ready.id, 64), () => undefined);
    const int8 = await planner.plan(
      extractFeaturesOptionsSchema.parse({ datasetId: ready.id, model: 'resnet50', precision: 'int8', calibrationImages: 60, parityImages: 20, parityThreshold: 0.98 }),
      () => undefined,
    );
    expect(int8.featureSetId).not.toBe(fp32.featureSetId);
    const set = backend.featureSets.sets.get(int8.featureSetId)!;
    expect(set.precision).toBe('int8');
    const plan = set.spec['int8'] as { calibration: Array<{ root: string; path: string }>; heldBack: Array<{ root: string; path: string }>; threshold: number };
    expect(plan.calibration).toHaveLength(60);
    expect(plan.heldBack).toHaveLength(20);
    expect(plan.threshold).toBe(0.98);
    const paths = [...plan.calibration, ...plan.heldBack].map((ref) => ref.path);
    expect(new Set(paths).size).toBe(80);
    const training = new Set(backend.datasets.images.filter((i) => i.split === 'training').map((i) => i.path));
    expect(paths.every((p) => training.has(p))).toBe(true);
    expect(plan.calibration[0]!.root).toBe('data');
    // The same sample each time the set is planned.
    await planner.plan(extractFeaturesOptionsSchema.parse({ datasetId: ready.id, model: 'resnet50', precision: 'int8', calibrationImages: 60, parityImages: 20 }), () => undefined);
    expect((backend.featureSets.sets.get(int8.featureSetId)!.spec['int8'] as typeof plan).calibration).toEqual(plan.calibration);
  });

  it('shares a small training split between the two samples, and refuses int8 on tfjs or on fewer than 2 training images', async () => {
    const small = dataset(30); // 10 training images
    const planned = await planner.plan(extractFeaturesOptionsSchema.parse({ datasetId: small.id, model: 'resnet50', precision: 'int8' }), () => undefined);
    const plan = backend.featureSets.sets.get(planned.featureSetId)!.spec['int8'] as { calibration: unknown[]; heldBack: unknown[]; threshold: number };
    expect([plan.calibration.length, plan.heldBack.length, plan.threshold]).toEqual([8, 2, 0.99]);

    await expect(planner.plan(extractFeaturesOptionsSchema.parse({ datasetId: small.id, model: 'resnet50', precision: 'int8', engine: 'tfjs' }), () => undefined)).rejects.toThrow(
      'precision: precision int8 runs on ONNX Runtime: use engine onnx or auto, not tfjs',
    );
    const tiny = dataset(3); // 1 training image
    await expect(planner.plan(extractFeaturesOptionsSchema.parse({ datasetId: tiny.id, model: 'resnet50', precision: 'int8' }), () => undefined)).rejects.toThrow(
      'precision int8 calibrates on the training split of dataset photos, which has 1 image(s); it needs at least 2',
    );
  });
});
