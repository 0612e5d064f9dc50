import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelFolderError } from './errors';
import { fileSystemLoadHandler } from './file-io-handler';
import { BUILTIN_MODEL_SPECS, MODEL_SPEC_FILE, parseModelSpec, type ModelSpec, type ModelSpecInput } from './model-spec';
import type { Preprocessing } from './preprocess';

/** A model folder loaded and ready: the full network, a feature network, and its spec. */
export interface LoadedModelFolder {
  dir: string;
  spec: ModelSpec;
  /** Where the spec came from: the folder's featx-model.json, a built-in spec, or code. */
  specSource: string;
  /** The full network as stored (e.g. with its classifier). */
  model: tf.LayersModel | tf.GraphModel;
  /** Input → spec.featureLayer output. Caller disposes the result. */
  features: (input: tf.Tensor4D) => tf.Tensor;
  /** Per-image shape of the feature output, e.g. [7, 7, 1280]. */
  featureShape: number[];
  preprocessing: Preprocessing;
  labels?: string[];
  dispose(): void;
}

/**
 * Loads a TF.js model folder with its spec: the folder's featx-model.json, else a built-in spec for a
 * known folder name (read-only folders such as the shared MobileNetV2), each overridable field by field.
 * A folder with neither needs a complete spec in `overrides`.
 */
export async function loadModelFolder(dir: string, overrides: Partial<ModelSpecInput> = {}): Promise<LoadedModelFolder> {
  const { spec, specSource } = await resolveModelSpec(dir, overrides);
  if (spec.format === 'onnx') {
    throw new ModelFolderError(`${path.join(dir, spec.modelFile)} is an ONNX model (${specSource}); it runs on the onnx engine only`);
  }
  const modelPath = path.join(dir, spec.modelFile);
  if (!existsSync(modelPath)) throw new ModelFolderError(`model folder ${dir} has no ${spec.modelFile}`);
  const handler = fileSystemLoadHandler(modelPath);
  const preprocessing: Preprocessing = { mode: spec.preprocessing, channelOrder: spec.channelOrder };
  const labels = await loadLabels(dir, spec);

  if (spec.format === 'layers') {
    const model = await tf.loadLayersModel(handler);
    const featureModel = layerFeatureModel(model, spec.featureLayer, dir);
    const featureShape = (featureModel.outputs[0]!.shape as Array<number | null>).slice(1);
    if (featureShape.some((n) => n === null)) {
      throw new ModelFolderError(`feature layer '${spec.featureLayer}' in ${dir} has an unknown shape [${featureShape.join(',')}]`);
    }
    return {
      dir,
      spec,
      specSource,
      model,
      features: (input) => featureModel.predict(input) as tf.Tensor,
      featureShape: featureShape as number[],
      preprocessing,
      labels,
      dispose: () => model.dispose(), // featureModel shares model's layers and weights
    };
  }

  const model = await tf.loadGraphModel(handler);
  const features = (input: tf.Tensor4D) => model.execute(input, spec.featureLayer) as tf.Tensor;
  // Graph models carry no static shapes we can trust; one dummy pass tells the feature shape.
  let probe: tf.Tensor;
  try {
    probe = tf.tidy(() => features(tf.zeros([1, spec.inputSize[0], spec.inputSize[1], 3])));
  } catch (error) {
    model.dispose();
    throw new ModelFolderError(`cannot run graph model ${dir} up to node '${spec.featureLayer}': ${error instanceof Error ? error.message : String(error)}`);
  }
  const featureShape = probe.shape.slice(1);
  probe.dispose();
  return { dir, spec, specSource, model, features, featureShape, preprocessing, labels, dispose: () => model.dispose() };
}

/** A model from the network's input to a named layer's output (shares weights with `model`). */
export function layerFeatureModel(model: tf.LayersModel, layerName: string, where = model.name): tf.LayersModel {
  let layer: tf.layers.Layer;
  try {
    layer = model.getLayer(layerName);
  } catch {
    const names = model.layers.map((l) => l.name);
    throw new ModelFolderError(
      `no layer '${layerName}' in ${where}; last layers are: ${names.slice(-8).join(', ')}`,
    );
  }
  return tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
}

/** The spec of a model folder: its featx-model.json or a built-in one, with `overrides` on top. */
export async function resolveModelSpec(dir: string, overrides: Partial<ModelSpecInput> = {}): Promise<{ spec: ModelSpec; specSource: string }> {
  const specFile = path.join(dir, MODEL_SPEC_FILE);
  let base: Partial<ModelSpecInput> = {};
  let specSource = 'code';
  if (existsSync(specFile)) {
    try {
      base = JSON.parse(await readFile(specFile, 'utf8')) as Partial<ModelSpecInput>;
    } catch (error) {
      throw new ModelFolderError(`cannot read ${specFile}: ${error instanceof Error ? error.message : String(error)}`);
    }
    specSource = specFile;
  } else if (BUILTIN_MODEL_SPECS[path.basename(path.resolve(dir))]) {
    base = BUILTIN_MODEL_SPECS[path.basename(path.resolve(dir))]!;
    specSource = `built-in spec '${path.basename(path.resolve(dir))}'`;
  }
  const merged = { ...base, ...withoutUndefined(overrides) };
  if (Object.keys(merged).length === 0) {
    throw new ModelFolderError(
      `model folder ${dir} has no ${MODEL_SPEC_FILE} and no built-in spec; add one or pass the spec ` +
        `(format, inputSize, preprocessing, featureLayer) in code`,
    );
  }
  try {
    return { spec: parseModelSpec(merged, specSource === 'code' ? `${dir} (spec from code)` : specSource), specSource };
  } catch (error) {
    throw new ModelFolderError(error instanceof Error ? error.message : String(error));
  }
}

async function loadLabels(dir: string, spec: ModelSpec): Promise<string[] | undefined> {
  if (spec.labels === undefined) return undefined;
  if (Array.isArray(spec.labels)) return spec.labels;
  const file = path.join(dir, spec.labels);
  try {
    const text = await readFile(file, 'utf8');
    return text.split(/\r?\n/).filter((line, i, all) => line.length > 0 || i < all.length - 1);
  } catch (error) {
    throw new ModelFolderError(`cannot read labels ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
