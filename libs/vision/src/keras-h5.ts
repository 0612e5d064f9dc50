import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Dataset as H5Dataset, Group as H5Group } from 'h5wasm';
import { WeightsMismatchError } from './errors';
import { loadH5wasm } from './h5wasm-loader';

/**
 * Keras 2 HDF5 weight files (`model.save_weights('x.h5')` and the keras-applications downloads):
 *   root attrs: layer_names = [every layer in model order], keras_version, backend
 *   /<layer>            one group per layer, attr weight_names = ['<layer>/kernel:0', ...] (maybe empty)
 *   /<layer>/<weight>   the dataset, e.g. /conv1_conv/conv1_conv/kernel:0, float32, Keras shape
 * Attributes over HDF5's 64 KiB header limit are split into name0, name1, ... (Keras does this for
 * huge models). A full-model save nests the same layout under /model_weights.
 */
export interface KerasWeight {
  /** As stored, e.g. `conv1_conv/kernel:0`. */
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface KerasLayerWeights {
  name: string;
  weights: KerasWeight[];
}

export interface KerasWeightsFile {
  path: string;
  /** All layers in model order, including those without weights. */
  layerNames: string[];
  layers: Map<string, KerasLayerWeights>;
  kerasVersion?: string;
  backend?: string;
}

/** Reads every weight of a Keras HDF5 weights file into memory. */
export async function readKerasH5Weights(filePath: string): Promise<KerasWeightsFile> {
  assertHdf5File(filePath);
  const h5 = await loadH5wasm();
  // Absolute: h5wasm resolves relative names against its own (emscripten) working directory.
  const file = new h5.File(path.resolve(filePath), 'r');
  try {
    let root: H5Group = file;
    if (!hasAttribute(root, 'layer_names') && !hasAttribute(root, 'layer_names0')) {
      const nested = file.get('model_weights');
      if (nested instanceof h5.Group) root = nested;
    }
    const layerNames = readStringListAttribute(root, 'layer_names');
    if (layerNames === undefined) {
      throw new Error(`${filePath} is HDF5 but not a Keras weights file (no 'layer_names' attribute)`);
    }
    const layers = new Map<string, KerasLayerWeights>();
    for (const layerName of layerNames) {
      const group = root.get(layerName);
      if (!(group instanceof h5.Group)) throw new Error(`${filePath}: layer '${layerName}' is listed but has no group`);
      const weightNames = readStringListAttribute(group, 'weight_names') ?? [];
      const weights = weightNames.map((weightName) => {
        const dataset = group.get(weightName);
        if (!(dataset instanceof h5.Dataset)) {
          throw new Error(`${filePath}: weight '${weightName}' of layer '${layerName}' has no dataset`);
        }
        return { name: weightName, shape: datasetShape(dataset), values: toFloat32(dataset, `${layerName}/${weightName}`) };
      });
      layers.set(layerName, { name: layerName, weights });
    }
    return {
      path: filePath,
      layerNames,
      layers,
      kerasVersion: readStringAttribute(file, 'keras_version') ?? readStringAttribute(root, 'keras_version'),
      backend: readStringAttribute(file, 'backend') ?? readStringAttribute(root, 'backend'),
    };
  } finally {
    file.close();
  }
}

export interface AssignWeightsOptions {
  /** Second name to look a layer up by when the file lacks its current name (e.g. legacy names). */
  layerAlias?: (layerName: string) => string | undefined;
}

export interface AssignWeightsReport {
  assignedLayers: number;
  assignedTensors: number;
  assignedValues: number;
  /** Layers found only through layerAlias. */
  aliasedLayers: number;
  /** Layers with weights in the file that the model does not have (e.g. `predictions` for a no-top model). */
  unusedFileLayers: string[];
}

/**
 * Copies file weights into the model, matched by layer name like Keras' `load_weights(by_name=True)`,
 * and within a layer by position (Keras' order: kernel, bias; BN gamma, beta, moving_mean, moving_variance).
 * Everything is checked before anything is written: a missing layer, a wrong weight count, a wrong
 * shape or a weight in the wrong slot throws WeightsMismatchError listing every problem.
 */
export function assignKerasWeights(
  model: tf.LayersModel,
  file: KerasWeightsFile,
  options: AssignWeightsOptions = {},
): AssignWeightsReport {
  const problems: string[] = [];
  const plan: Array<{ layer: tf.layers.Layer; weights: KerasWeight[] }> = [];
  const used = new Set<string>();
  let aliasedLayers = 0;

  for (const layer of model.layers) {
    const variables = layer.weights;
    if (variables.length === 0) continue;
    let fileLayer = file.layers.get(layer.name);
    if (!fileLayer && options.layerAlias) {
      const alias = options.layerAlias(layer.name);
      fileLayer = alias === undefined ? undefined : file.layers.get(alias);
      if (fileLayer) aliasedLayers++;
    }
    if (!fileLayer) {
      problems.push(`layer '${layer.name}' (${variables.length} weights) is missing from the file`);
      continue;
    }
    used.add(fileLayer.name);
    if (fileLayer.weights.length !== variables.length) {
      problems.push(
        `layer '${layer.name}': file has ${fileLayer.weights.length} weights [${fileLayer.weights.map((w) => w.name).join(', ')}], ` +
          `model expects ${variables.length} [${variables.map((v) => v.originalName).join(', ')}]`,
      );
      continue;
    }
    let ok = true;
    variables.forEach((variable, i) => {
      const weight = fileLayer.weights[i]!;
      const expectedKind = lastSegment(variable.originalName);
      const storedKind = lastSegment(weight.name).replace(/:\d+$/, '');
      if (KNOWN_WEIGHT_KINDS.has(storedKind) && storedKind !== expectedKind) {
        problems.push(`layer '${layer.name}' weight ${i}: file has '${weight.name}' where the model has '${expectedKind}'`);
        ok = false;
      }
      if (!sameShape(weight.shape, variable.shape as number[])) {
        problems.push(`${layer.name}/${expectedKind}: file shape [${weight.shape.join(',')}], model shape [${variable.shape.join(',')}]`);
        ok = false;
      }
    });
    if (ok) plan.push({ layer, weights: fileLayer.weights });
  }
  if (problems.length > 0) throw new WeightsMismatchError(file.path, problems);

  let assignedTensors = 0;
  let assignedValues = 0;
  for (const { layer, weights } of plan) {
    const tensors = weights.map((w) => tf.tensor(w.values, w.shape, 'float32'));
    try {
      layer.setWeights(tensors); // copies into the layer's variables
    } finally {
      tensors.forEach((t) => t.dispose());
    }
    assignedTensors += weights.length;
    assignedValues += weights.reduce((sum, w) => sum + w.values.length, 0);
  }
  const unusedFileLayers = [...file.layers.values()].filter((l) => l.weights.length > 0 && !used.has(l.name)).map((l) => l.name);
  return { assignedLayers: plan.length, assignedTensors, assignedValues, aliasedLayers, unusedFileLayers };
}

/** readKerasH5Weights + assignKerasWeights. */
export async function loadKerasH5Weights(
  model: tf.LayersModel,
  filePath: string,
  options: AssignWeightsOptions = {},
): Promise<AssignWeightsReport> {
  return assignKerasWeights(model, await readKerasH5Weights(filePath), options);
}

// Weight names whose meaning is unambiguous; anything else (custom layers) is matched by position only.
const KNOWN_WEIGHT_KINDS = new Set([
  'kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance', 'depthwise_kernel', 'pointwise_kernel', 'embeddings',
]);

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** h5wasm gives cryptic errors for missing or non-HDF5 files; say what is wrong first. */
function assertHdf5File(filePath: string): void {
  if (!existsSync(filePath)) throw new Error(`weights file not found: ${filePath}`);
  const fd = openSync(filePath, 'r');
  try {
    // The superblock sits at 0, 512, 1024, 2048, ... (a user block may precede it).
    for (const offset of [0, 512, 1024, 2048, 4096]) {
      const head = Buffer.alloc(8);
      if (readSync(fd, head, 0, 8, offset) < 8) break;
      if (HDF5_SIGNATURE.every((b, i) => head[i] === b)) return;
    }
  } finally {
    closeSync(fd);
  }
  throw new Error(`${filePath} is not an HDF5 file (no HDF5 signature); is the download truncated or an HTML error page?`);
}

function hasAttribute(entity: H5Group | H5Dataset, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(entity.attrs, name);
}

/** Reads a list-of-strings attribute, following Keras' chunking (name0, name1, ...). */
function readStringListAttribute(entity: H5Group, name: string): string[] | undefined {
  if (hasAttribute(entity, name)) return toStringList(entity.attrs[name]!.value);
  if (!hasAttribute(entity, `${name}0`)) return undefined;
  const all: string[] = [];
  for (let chunk = 0; hasAttribute(entity, `${name}${chunk}`); chunk++) all.push(...toStringList(entity.attrs[`${name}${chunk}`]!.value));
  return all;
}

function readStringAttribute(entity: H5Group, name: string): string | undefined {
  if (!hasAttribute(entity, name)) return undefined;
  const list = toStringList(entity.attrs[name]!.value);
  return list[0];
}

function toStringList(value: unknown): string[] {
  if (typeof value === 'string') return [stripPadding(value)];
  if (value instanceof Uint8Array) return [stripPadding(new TextDecoder().decode(value))];
  // An empty list is stored by h5py as a zero-length float array.
  if (ArrayBuffer.isView(value)) return [];
  if (Array.isArray(value)) {
    return value.map((v) => (typeof v === 'string' ? stripPadding(v) : v instanceof Uint8Array ? stripPadding(new TextDecoder().decode(v)) : String(v)));
  }
  if (value === null || value === undefined) return [];
  return [String(value)];
}

/** Fixed-length HDF5 strings may come back padded with NULs. */
function stripPadding(text: string): string {
  const nul = text.indexOf('\0');
  return nul >= 0 ? text.slice(0, nul) : text;
}

function datasetShape(dataset: H5Dataset): number[] {
  return (dataset.shape ?? []).map((n) => Number(n));
}

function toFloat32(dataset: H5Dataset, label: string): Float32Array {
  const value = dataset.value;
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array) return Float32Array.from(value);
  if (typeof value === 'number') return Float32Array.of(value);
  throw new Error(`weight ${label} has unsupported dtype ${JSON.stringify(dataset.dtype)} (expected float32 or float64)`);
}

function lastSegment(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
