import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { trainingConfigSchema } from '@featx/contracts';
import { writeNpy } from '@featx/features';
import { selectBackend } from '@featx/vision';
import { createHead, TrainableHead } from './head';
import { standardizeInPlace } from './stats';
import { loadTrainedModel, saveTrainedModel, TrainedModelContents, TRAINED_MODEL_MANIFEST } from './trained-model';
import { clusters } from './testing/synthetic';

const DIM = 6;
const CLASSES = ['cat', 'dog', 'owl'];
const RUN_ID = '3f0c8a52-5f2e-4c53-9a51-2f8f0e6f4a10';
const FEATURE_SET_ID = '9b1d7c44-0c0e-4a53-8d53-7b1e2b7e9c21';

describe('trained model folder (featx-head.json + TF.js model)', () => {
  let root: string;
  let head: TrainableHead;
  let folders = 0;

  const standardization = { mean: Float32Array.from({ length: DIM }, (_, i) => i / 10), std: Float32Array.from({ length: DIM }, (_, i) => 1 + i) };
  const contents = (): TrainedModelContents => ({
    head,
    runId: RUN_ID,
    featureSetId: FEATURE_SET_ID,
    network: { model: 'data:models/mobilenet', layer: null, pooling: 'avg', dtype: 'float32', dim: DIM, engine: 'onnx' },
    classes: CLASSES,
    standardization,
    config: trainingConfigSchema.parse({ featureSetId: FEATURE_SET_ID, epochs: 3, l2: 0, decay: 0.001 }),
  });
  const newFolder = () => path.join(root, `model-${++folders}`);

  /** A saved folder whose manifest `edit` then changes, as a damaged or hand-made folder would be. */
  async function savedThenEdited(edit: (manifest: Record<string, any>) => void): Promise<string> {
    const dir = newFolder();
    await saveTrainedModel(dir, contents());
    const file = path.join(dir, TRAINED_MODEL_MANIFEST);
    const manifest = JSON.parse(await fs.readFile(file, 'utf8'));
    edit(manifest);
    await fs.writeFile(file, JSON.stringify(manifest));
    return dir;
  }

  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-trained-model-'));
    head = createHead({ kind: 'mlp', inputDim: DIM, classes: CLASSES.length, hidden: [4] }, 3, { kind: 'adam', learningRate: 0.05 });
    const data = clusters(30, DIM, CLASSES.length, 5);
    for (let i = 0; i < 5; i++) head.trainBatch(data.features, data.labels);
  });
  afterAll(async () => {
    head?.dispose();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('loads what it saved: the manifest, the standardization and a head predicting as the trained one', async () => {
    const dir = newFolder();
    const saved = await saveTrainedModel(dir, contents());
    expect((await fs.readdir(dir)).filter((name) => !name.startsWith('weights-')).sort()).toEqual(
      ['featx-head.json', 'model.json', 'standardization-mean.npy', 'standardization-std.npy'],
    );

    const loaded = await loadTrainedModel(dir);
    expect(loaded.manifest).toEqual(saved);
    expect(loaded.manifest).toMatchObject({ version: 1, runId: RUN_ID, classes: CLASSES, network: { engine: 'onnx', dim: DIM, layer: null }, config: { epochs: 3, l2: 0 } });
    expect(loaded.standardization).toEqual(standardization);
    const x = standardizeInPlace(clusters(8, DIM, CLASSES.length, 5, 1).features, standardization);
    const expected = head.predictProba(x);
    const predicted = loaded.head.predictProba(x);
    predicted.forEach((p, i) => expect(p).toBeCloseTo(expected[i], 6));
    loaded.head.dispose();
  });

  it('carries an ensemble\'s further heads, each in its folder with its preparation, and the test-time augmentation', async () => {
    const other = createHead({ kind: 'logistic', inputDim: DIM, classes: CLASSES.length }, 4, { kind: 'sgd', learningRate: 0.1 });
    const data = clusters(30, DIM, CLASSES.length, 6);
    for (let i = 0; i < 5; i++) other.trainBatch(data.features, data.labels);
    const dir = newFolder();
    const saved = await saveTrainedModel(dir, {
      ...contents(),
      members: [
        { head: other, normalize: 'power', standardization: null },
        { head: other, normalize: 'none', standardization },
      ],
      testTimeAugment: 'hflip',
    });
    expect(saved.members).toEqual([
      { folder: 'member-1', normalize: 'power', standardization: null },
      { folder: 'member-2', normalize: 'none', standardization: { mean: 'standardization-mean.npy', std: 'standardization-std.npy' } },
    ]);
    expect((await fs.readdir(path.join(dir, 'member-1'))).filter((name) => !name.startsWith('weights-'))).toEqual(['model.json']);
    const loaded = await loadTrainedModel(dir);
    expect(loaded.manifest.testTimeAugment).toBe('hflip');
    expect(loaded.members.map((m) => [m.normalize, m.standardization])).toEqual([
      ['power', null],
      ['none', standardization],
    ]);
    const x = clusters(8, DIM, CLASSES.length, 5, 1).features;
    const expected = other.predictProba(x);
    loaded.members[0].head.predictProba(x).forEach((p, i) => expect(p).toBeCloseTo(expected[i], 6));
    [loaded.head, ...loaded.members.map((m) => m.head)].forEach((h) => h.dispose());

    // A member whose head does not fit the manifest is refused, naming it.
    const wrong = createHead({ kind: 'logistic', inputDim: DIM + 1, classes: CLASSES.length }, 4, { kind: 'sgd', learningRate: 0.1 });
    await expect(saveTrainedModel(newFolder(), { ...contents(), members: [{ head: wrong, normalize: 'none', standardization: null }] })).rejects.toThrow(/member 1 maps 7 values to 3 classes/);
    wrong.dispose();
    other.dispose();
  });

  it('reads a folder written before ensembles as one head without test-time augmentation', async () => {
    const dir = await savedThenEdited((manifest) => {
      delete manifest.members;
      delete manifest.testTimeAugment;
    });
    const loaded = await loadTrainedModel(dir);
    expect(loaded.members).toEqual([]);
    expect(loaded.manifest.testTimeAugment).toBe('none');
    loaded.head.dispose();
  });

  it('saves a model without standardization with standardization null', async () => {
    const dir = newFolder();
    await saveTrainedModel(dir, { ...contents(), standardization: null });
    const loaded = await loadTrainedModel(dir);
    expect(loaded.manifest.standardization).toBeNull();
    expect(loaded.standardization).toBeNull();
    expect((await fs.readdir(dir)).some((name) => name.endsWith('.npy'))).toBe(false);
    loaded.head.dispose();
  });

  it('reads folders written before the manifest had a version or the network an engine (version 1, features from tfjs)', async () => {
    const dir = await savedThenEdited((manifest) => {
      delete manifest.version;
      delete manifest.network.engine;
    });
    const loaded = await loadTrainedModel(dir);
    expect(loaded.manifest.version).toBe(1);
    expect(loaded.manifest.network.engine).toBe('tfjs');
    loaded.head.dispose();
  });

  it.each([
    ['a missing field', (m: Record<string, any>) => delete m.featureSetId, /featx-head\.json: field "featureSetId": Invalid input: expected string, received undefined/],
    ['a pooling it does not know', (m: Record<string, any>) => (m.network.pooling = 'mean'), /featx-head\.json: field "network\.pooling": Invalid option: expected one of "none"\|"avg"\|"max"/],
    ['a field of the wrong type', (m: Record<string, any>) => (m.network.dim = '6'), /featx-head\.json: field "network\.dim": Invalid input: expected number, received string/],
    ['an unknown engine', (m: Record<string, any>) => (m.network.engine = 'cuda'), /featx-head\.json: field "network\.engine": Invalid option/],
    ['a standardization file outside the folder', (m: Record<string, any>) => (m.standardization.mean = '../../etc/mean.npy'), /field "standardization\.mean": expected a file name inside the model folder/],
    ['a newer version', (m: Record<string, any>) => (m.version = 2), /featx-head\.json: field "version": 2 is not supported \(this build reads version 1\)/],
    ['a dim the head does not take', (m: Record<string, any>) => (m.network.dim = 7), /model\.json: the head maps 6 values to 3 classes, but featx-head\.json says network\.dim 7 and 3 classes/],
    ['a class too many', (m: Record<string, any>) => m.classes.push('eel'), /says network\.dim 6 and 4 classes/],
  ])('refuses a manifest with %s, naming the file and the field', async (_, edit, message) => {
    const dir = await savedThenEdited(edit);
    await expect(loadTrainedModel(dir)).rejects.toThrow(message);
  });

  it('refuses a folder without a manifest, a manifest that is not JSON, and standardization of the wrong size', async () => {
    const empty = newFolder();
    await fs.mkdir(empty);
    await expect(loadTrainedModel(empty)).rejects.toThrow(`${path.join(empty, 'featx-head.json')} is missing: ${empty} is not a trained model folder`);

    const garbled = newFolder();
    await saveTrainedModel(garbled, contents());
    await fs.writeFile(path.join(garbled, TRAINED_MODEL_MANIFEST), '{"runId": ');
    await expect(loadTrainedModel(garbled)).rejects.toThrow(/featx-head\.json is not valid JSON/);

    const short = newFolder();
    await saveTrainedModel(short, contents());
    await writeNpy(path.join(short, 'standardization-std.npy'), '<f4', [DIM - 1], new Float32Array(DIM - 1));
    await expect(loadTrainedModel(short)).rejects.toThrow(/standardization-std\.npy: expected float32 values of shape \[6\] \(network\.dim\), got <f4 \[5\]/);
  });

  it('refuses to save a manifest that would not load, or a head that does not match it', async () => {
    await expect(saveTrainedModel(newFolder(), { ...contents(), runId: 'run-7' })).rejects.toThrow(/cannot save a trained model to .*: field "runId": Invalid UUID/);
    await expect(saveTrainedModel(newFolder(), { ...contents(), classes: ['cat', 'dog'] })).rejects.toThrow(/the head maps 6 values to 3 classes, the manifest says network\.dim 6 and 2 classes/);
  });

  it('records the int8 network a head was trained on, and refuses int8 without it', async () => {
    const int8 = {
      key: 'a'.repeat(32),
      method: 'minmax' as const,
      calibration: [{ root: 'data', path: 'set/training/cat/1.jpg' }],
      heldBack: [{ root: 'data', path: 'set/training/dog/2.jpg' }],
      threshold: 0.99,
    };
    const dir = newFolder();
    await saveTrainedModel(dir, { ...contents(), network: { ...contents().network, precision: 'int8', int8 } });
    const loaded = await loadTrainedModel(dir);
    loaded.head.dispose();
    expect(loaded.manifest.network).toMatchObject({ precision: 'int8', int8 });
    await expect(saveTrainedModel(newFolder(), { ...contents(), network: { ...contents().network, precision: 'int8', int8: null } })).rejects.toThrow(
      /field "network\.int8": precision int8 needs int8 \(the quantized network the features came from\)/,
    );
    await expect(saveTrainedModel(newFolder(), { ...contents(), network: { ...contents().network, precision: 'int8', int8: { ...int8, key: 'not-a-key' } } })).rejects.toThrow(
      /field "network\.int8\.key": expected the 32 hex digits of a quantized model's content key/,
    );
  });
});
