import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { ENGINES, FEATURE_DTYPES, formatIssues, int8NetworkSchema, Normalization, NORMALIZATIONS, POOLINGS, PRECISIONS, TEST_TIME_AUGMENTS, trainingConfigSchema } from '@featx/contracts';
import { readNpy, writeNpy } from '@featx/features';
import { writeFileAtomic } from '@featx/files';
import { TrainableHead } from './head';
import { Standardization } from './stats';
import { exportTfjsModel, loadTrainedHead, TrainedHead } from './tfjs-export';

/**
 * A trained model folder — everything prediction needs, written by the trainer, read by the API:
 *   model.json + weights-*.bin             the head as a TF.js layers model (tfjs-export.ts)
 *   standardization-{mean,std}.npy         float32 [dim], when the run standardized its features
 *   member-<k>/                            an ensemble's further heads (`--head auto`), each a TF.js
 *                                          model with its own standardization files
 *   featx-head.json                        this manifest, written last: it names the rest
 */
export const TRAINED_MODEL_MANIFEST = 'featx-head.json';
export const TRAINED_MODEL_VERSION = 1;
const STANDARDIZATION_FILES = { mean: 'standardization-mean.npy', std: 'standardization-std.npy' };

/** A file name inside the model folder (no path: a manifest never points outside its folder). */
const fileInFolder = z.string().regex(/^[^/\\]+$/, 'expected a file name inside the model folder');

export const trainedModelManifestSchema = z.object({
  /** Absent in folders written before the field existed: those are version 1. */
  version: z.literal(TRAINED_MODEL_VERSION).default(TRAINED_MODEL_VERSION),
  runId: z.string().uuid(),
  featureSetId: z.string().uuid(),
  /** The network that made the training features; prediction rebuilds it exactly. */
  network: z.object({
    /** `resnet50`, or a data-root reference to a TF.js or ONNX model. */
    model: z.string().min(1),
    /** null: the network's default feature layer. */
    layer: z.string().min(1).nullable(),
    pooling: z.enum(POOLINGS),
    dtype: z.enum(FEATURE_DTYPES),
    /** Values per feature vector: the head's input size. */
    dim: z.number().int().min(1),
    /** Absent in heads trained before the onnx engine existed: their features came from tfjs. */
    engine: z.enum(ENGINES).default('tfjs'),
    /** Absent in heads trained before precision was recorded (the API then checks the feature set's). */
    precision: z.enum(PRECISIONS).optional(),
    /** int8: the quantized network the features came from; null for fp32. */
    int8: int8NetworkSchema.nullable().optional(),
  })
  .refine((network) => network.precision !== 'int8' || network.int8, { message: 'precision int8 needs int8 (the quantized network the features came from)', path: ['int8'] }),
  /** Class names, in the order of the head's outputs. */
  classes: z.array(z.string().min(1)).min(2),
  /** Float32 mean and std per value, applied to features before the head; null: features as extracted. */
  standardization: z.object({ mean: fileInFolder, std: fileInFolder }).nullable(),
  /** The run's training configuration, with the L2 and decay it resolved. */
  config: trainingConfigSchema,
  /**
   * The heads averaged with the main one (an ensemble that `--head auto` chose), each in a folder
   * of its own with how its inputs are prepared. Absent in older folders: the main head alone.
   */
  members: z
    .array(z.object({ folder: fileInFolder, normalize: z.enum(NORMALIZATIONS), standardization: z.object({ mean: fileInFolder, std: fileInFolder }).nullable() }))
    .default([]),
  /** `hflip`: the head was selected and evaluated on images averaged with their mirrors; prediction does so unless asked otherwise. */
  testTimeAugment: z.enum(TEST_TIME_AUGMENTS).default('none'),
});
export type TrainedModelManifest = z.output<typeof trainedModelManifestSchema>;

/** What saveTrainedModel writes: the head, its standardization, and the manifest's facts. */
export interface TrainedModelContents extends Omit<TrainedModelManifest, 'version' | 'standardization' | 'members' | 'testTimeAugment'> {
  head: TrainableHead;
  standardization: Standardization | null;
  /** Further heads whose probabilities are averaged with the main one's. */
  members?: Array<{ head: TrainableHead; normalize: Normalization; standardization: Standardization | null }>;
  testTimeAugment?: TrainedModelManifest['testTimeAugment'];
}

/** One head of a loaded model with its inputs' preparation. */
export interface TrainedMember {
  head: TrainedHead;
  normalize: Normalization;
  standardization: Standardization | null;
}

/** A trained model folder, loaded and checked: the caller disposes the head. */
export interface TrainedModel {
  manifest: TrainedModelManifest;
  head: TrainedHead;
  standardization: Standardization | null;
  /** The heads averaged with `head` (manifest.members), loaded; empty for a single head. */
  members: TrainedMember[];
}

/**
 * Writes a trained model into `dir`: the TF.js model and the standardization files first, then the
 * manifest (checked against the schema, so a bad folder is refused where it is made, not where it
 * is read), committed atomically.
 */
export async function saveTrainedModel(dir: string, contents: TrainedModelContents): Promise<TrainedModelManifest> {
  const { head, standardization, members = [], ...facts } = contents;
  const checked = trainedModelManifestSchema.safeParse({
    version: TRAINED_MODEL_VERSION,
    ...facts,
    standardization: standardization ? STANDARDIZATION_FILES : null,
    members: members.map((member, k) => ({ folder: `member-${k + 1}`, normalize: member.normalize, standardization: member.standardization ? STANDARDIZATION_FILES : null })),
  });
  if (!checked.success) throw new Error(`cannot save a trained model to ${dir}: ${formatIssues(checked.error)}`);
  const manifest = checked.data;
  for (const [k, one] of [head, ...members.map((m) => m.head)].entries()) {
    if (one.spec.inputDim !== manifest.network.dim || one.spec.classes !== manifest.classes.length) {
      throw new Error(
        `cannot save a trained model to ${dir}: ${k === 0 ? 'the head' : `member ${k}`} maps ${one.spec.inputDim} values to ${one.spec.classes} classes, the manifest says network.dim ${manifest.network.dim} and ${manifest.classes.length} classes`,
      );
    }
  }
  await writeHead(dir, head, standardization, manifest);
  for (const [k, member] of members.entries()) {
    const folder = path.join(dir, manifest.members[k].folder);
    await fs.mkdir(folder, { recursive: true });
    await writeHead(folder, member.head, member.standardization, manifest);
  }
  await writeFileAtomic(path.join(dir, TRAINED_MODEL_MANIFEST), JSON.stringify(manifest, null, 2));
  return manifest;
}

/** One head's TF.js model and standardization files in `dir`. */
async function writeHead(dir: string, head: TrainableHead, standardization: Standardization | null, manifest: TrainedModelManifest): Promise<void> {
  await exportTfjsModel(head, dir, { metadata: { classes: manifest.classes } });
  if (standardization) {
    await writeNpy(path.join(dir, STANDARDIZATION_FILES.mean), '<f4', [manifest.network.dim], standardization.mean);
    await writeNpy(path.join(dir, STANDARDIZATION_FILES.std), '<f4', [manifest.network.dim], standardization.std);
  }
}

/**
 * Loads a folder written by saveTrainedModel (or by the trainer before the manifest had a version),
 * checking the manifest, the head and the standardization against each other. Every error names
 * the file and what is wrong with it.
 */
export async function loadTrainedModel(dir: string): Promise<TrainedModel> {
  const manifest = await readTrainedModelManifest(dir);
  const loaded: TrainedHead[] = [];
  try {
    const main = await loadHead(dir, manifest, manifest.standardization, manifest.config.normalize, loaded);
    const members: TrainedMember[] = [];
    for (const member of manifest.members) members.push(await loadHead(path.join(dir, member.folder), manifest, member.standardization, member.normalize, loaded));
    return { manifest, head: main.head, standardization: main.standardization, members };
  } catch (error) {
    loaded.forEach((head) => head.dispose());
    throw error;
  }
}

/** A head of the folder (the main one, or a member's in its folder), checked against the manifest. */
async function loadHead(
  dir: string,
  manifest: TrainedModelManifest,
  files: { mean: string; std: string } | null,
  normalize: Normalization,
  loaded: TrainedHead[],
): Promise<TrainedMember> {
  const head = await loadTrainedHead(dir);
  loaded.push(head);
  if (head.inputDim !== manifest.network.dim || head.classes !== manifest.classes.length) {
    throw new Error(
      `${path.join(dir, 'model.json')}: the head maps ${head.inputDim} values to ${head.classes} classes, ` +
        `but ${TRAINED_MODEL_MANIFEST} says network.dim ${manifest.network.dim} and ${manifest.classes.length} classes`,
    );
  }
  const standardization = files ? { mean: await readValues(dir, files.mean, manifest.network.dim), std: await readValues(dir, files.std, manifest.network.dim) } : null;
  return { head, normalize, standardization };
}

/** featx-head.json of the folder, checked against the schema (defaults filled for older folders). */
export async function readTrainedModelManifest(dir: string): Promise<TrainedModelManifest> {
  const file = path.join(dir, TRAINED_MODEL_MANIFEST);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${file} is missing: ${dir} is not a trained model folder`);
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (version !== undefined && version !== TRAINED_MODEL_VERSION) {
    throw new Error(`${file}: field "version": ${JSON.stringify(version)} is not supported (this build reads version ${TRAINED_MODEL_VERSION})`);
  }
  const checked = trainedModelManifestSchema.safeParse(json);
  if (!checked.success) throw new Error(`${file}: ${formatIssues(checked.error)}`);
  return checked.data;
}

async function readValues(dir: string, name: string, dim: number): Promise<Float32Array> {
  const file = path.join(dir, name);
  const array = await readNpy(file);
  if (array.dtype !== '<f4' || array.shape.length !== 1 || array.shape[0] !== dim) {
    throw new Error(`${file}: expected float32 values of shape [${dim}] (network.dim), got ${array.dtype} [${array.shape.join(', ')}]`);
  }
  return array.data as Float32Array;
}
