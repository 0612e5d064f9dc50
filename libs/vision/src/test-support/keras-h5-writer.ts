import { loadH5wasm } from '../h5wasm-loader';

export interface LayerToWrite {
  name: string;
  /** Stored weight names, e.g. `conv1_conv/kernel:0`, with values in Keras' shape. */
  weights: Array<{ name: string; shape: number[]; values: Float32Array }>;
}

/**
 * Writes weights the way Keras 2's save_weights_to_hdf5_group does (the layout of the files Keras
 * publishes): root attrs layer_names (fixed-length byte strings, model order), backend, keras_version;
 * a group per layer in name order with attr weight_names (an empty float array when the layer has
 * none, as h5py stores np.asarray([])); each weight as a float32 dataset at <layer>/<weight name>.
 */
export async function writeKerasH5(filePath: string, layers: LayerToWrite[]): Promise<void> {
  const h5 = await loadH5wasm();
  const file = new h5.File(filePath, 'w');
  try {
    const layerNames = layers.map((l) => l.name);
    file.create_attribute('backend', 'tensorflow');
    file.create_attribute('keras_version', '2.13.1');
    file.create_attribute('layer_names', layerNames, [layerNames.length], `S${maxLength(layerNames)}`);
    for (const layer of [...layers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const group = file.create_group(layer.name);
      const weightNames = layer.weights.map((w) => w.name);
      if (weightNames.length === 0) {
        group.create_attribute('weight_names', new Float64Array(0), [0]);
        continue;
      }
      group.create_attribute('weight_names', weightNames, [weightNames.length], `S${maxLength(weightNames)}`);
      for (const weight of layer.weights) {
        // h5py creates the intermediate group of 'conv1_conv/kernel:0' implicitly; h5wasm needs it explicitly.
        const parent = weight.name.includes('/') ? weight.name.slice(0, weight.name.lastIndexOf('/')) : '';
        const target = parent ? ((group.get(parent) as typeof group | null) ?? group.create_group(parent)) : group;
        target.create_dataset({ name: weight.name.slice(parent ? parent.length + 1 : 0), data: weight.values, shape: weight.shape, dtype: '<f4' });
      }
    }
  } finally {
    file.close();
  }
}

function maxLength(names: string[]): number {
  return Math.max(1, ...names.map((n) => Buffer.byteLength(n)));
}
