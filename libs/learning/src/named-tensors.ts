import * as tf from '@tensorflow/tfjs';

/** A tensor with the stable name a checkpoint stores it under. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** Float32 values by name, as read back from a checkpoint. */
export type TensorValues = ReadonlyMap<string, Float32Array>;

/**
 * A variable holding `values` (or zeros), checked against the expected shape. Variables get no
 * TF.js name: those are global to the process, and two heads must be able to live side by side.
 */
export function variableOf(name: string, shape: number[], values?: Float32Array): tf.Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  if (values && values.length !== size) {
    throw new RangeError(`'${name}' has ${values.length} values, expected ${size} for shape [${shape.join(', ')}]`);
  }
  return tf.tidy(() => tf.variable(values ? tf.tensor(values, shape, 'float32') : tf.zeros(shape), false));
}

/** `values.get(name)`, or an error naming what is missing. */
export function requireValues(values: TensorValues, name: string): Float32Array {
  const found = values.get(name);
  if (!found) throw new Error(`checkpoint has no tensor '${name}'`);
  return found;
}
