import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '@featx/files';
import { removeStale, uniqueName, writeDurably } from './durable-files';
import { fileLoadHandler } from './file-io-handler';
import { TrainableHead } from './head';
import { ResolvedHeadSpec, layerUnits } from './head-spec';
import { checkedRows } from './batch-check';

const MODEL_JSON = 'model.json';
const WEIGHT_FILE = /^weights-.*\.bin$/;
/** Where the head's spec goes inside model.json's userDefinedMetadata. */
const METADATA_KEY = 'featx';

export interface ExportOptions {
  /** Extra JSON stored in model.json's userDefinedMetadata (e.g. class names). */
  metadata?: Record<string, unknown>;
}

/** A head loaded from an export, for prediction only. */
export interface TrainedHead {
  inputDim: number;
  classes: number;
  /** The exporting head's spec and step, and ExportOptions.metadata, where model.json has them. */
  metadata: Record<string, unknown>;
  /** Softmax probabilities, rows × classes, row-major. */
  predictProba(features: Float32Array): Float32Array;
  dispose(): void;
}

/**
 * Writes the head as a standard TF.js layers model — a Sequential of Dense layers (ReLU, the last
 * softmax; Dropout layers where it was trained with dropout), kernels in Keras' [inputs, units]
 * layout — readable by tf.loadLayersModel: model.json plus one weights file. The weights file is
 * written and flushed first and model.json, which names it, replaces any earlier one atomically.
 */
export async function exportTfjsModel(head: TrainableHead, dir: string, options: ExportOptions = {}): Promise<{ modelJson: string; weights: string }> {
  await fs.mkdir(dir, { recursive: true });
  const model = toLayersModel(head);
  const weightsFile = uniqueName('weights', '.bin');
  try {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const data = artifacts.weightData ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : new ArrayBuffer(0);
        await writeDurably(path.join(dir, weightsFile), [new Uint8Array(data)]);
        const modelJson: tf.io.ModelJSON = {
          modelTopology: artifacts.modelTopology as object,
          format: artifacts.format,
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy,
          weightsManifest: [{ paths: [`./${weightsFile}`], weights: artifacts.weightSpecs ?? [] }],
          userDefinedMetadata: { [METADATA_KEY]: { spec: head.spec, step: head.step, exportedAt: new Date().toISOString() }, ...(options.metadata ?? {}) } as { [key: string]: {} },
        };
        await writeFileAtomic(path.join(dir, MODEL_JSON), JSON.stringify(modelJson));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: data.byteLength } };
      }),
    );
  } finally {
    model.dispose();
  }
  await removeStale(dir, WEIGHT_FILE, new Set([weightsFile]));
  return { modelJson: path.join(dir, MODEL_JSON), weights: path.join(dir, weightsFile) };
}

/** The head as a tf.Sequential with Keras-layout weights (the caller disposes it). */
export function toLayersModel(head: TrainableHead): tf.Sequential {
  const spec: ResolvedHeadSpec = head.spec;
  const units = layerUnits(spec);
  const model = tf.sequential();
  units.forEach((count, l) => {
    const last = l === units.length - 1;
    model.add(
      tf.layers.dense({
        units: count,
        activation: last ? 'softmax' : 'relu',
        name: `dense_${l + 1}`,
        ...(l === 0 ? { inputShape: [spec.inputDim] } : {}),
      }),
    );
    if (!last && spec.dropout > 0) model.add(tf.layers.dropout({ rate: spec.dropout, name: `dropout_${l + 1}` }));
  });
  const byName = new Map(head.parameters().map((p) => [p.name, p.tensor]));
  const weights = tf.tidy(() =>
    units.flatMap((_, l) => {
      const kernelT = byName.get(`dense_${l + 1}/kernelT`);
      const bias = byName.get(`dense_${l + 1}/bias`);
      if (!kernelT || !bias) throw new Error(`head has no parameters for dense_${l + 1}`);
      return [tf.transpose(kernelT), tf.clone(bias)]; // Keras kernel layout: [inputs, units]
    }),
  );
  model.setWeights(weights);
  weights.forEach((w) => w.dispose());
  return model;
}

/** Loads a model written by exportTfjsModel (any TF.js layers model of this shape works). */
export async function loadTrainedHead(dir: string): Promise<TrainedHead> {
  const model = await tf.loadLayersModel(fileLoadHandler(path.join(dir, MODEL_JSON)));
  const inputDim = model.inputs[0].shape[1];
  const classes = model.outputs[0].shape[1];
  if (typeof inputDim !== 'number' || typeof classes !== 'number' || model.inputs[0].shape.length !== 2) {
    model.dispose();
    throw new Error(`${dir}: expected a model from [rows, features] to [rows, classes]`);
  }
  const stored = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  return {
    inputDim,
    classes,
    metadata: stored ?? {},
    predictProba(features: Float32Array): Float32Array {
      const rows = checkedRows(features, undefined, inputDim, classes);
      const probabilities = tf.tidy(() => model.predict(tf.tensor2d(features, [rows, inputDim])) as tf.Tensor2D);
      const values = Float32Array.from(probabilities.dataSync());
      probabilities.dispose();
      return values;
    },
    dispose: () => model.dispose(),
  };
}
