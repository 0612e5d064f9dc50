/**
 * Seeded pseudo-random numbers in plain JavaScript (mulberry32). Initial weights and dropout masks
 * come from here rather than tf.random*: filling 25.7M floats is ~20x faster than TF.js' per-value
 * seedrandom, and the sequence depends only on (seed, stream), so a head restored from a checkpoint
 * draws exactly the dropout masks the uninterrupted run would have drawn.
 */
export type RandomSource = () => number;

// A module-level binding: inside jest's vm context every lookup of the global `Math` goes through
// an interceptor, which made this generator 40x slower there.
const imul = Math.imul;

/** A generator of uniform numbers in [0, 1) keyed by any number of integers (seed, step, layer…). */
export function seededRandom(...keys: number[]): RandomSource {
  let state = 0x9e3779b9;
  for (const key of keys) state = imul(state ^ (key >>> 0), 0x85ebca6b) ^ (state >>> 13);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = imul(state ^ (state >>> 15), 1 | state);
    t = (t + imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keras' default Dense initializer: uniform in ±sqrt(6 / (fanIn + fanOut)). */
export function glorotUniform(fanIn: number, fanOut: number, random: RandomSource): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const values = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < values.length; i++) values[i] = (random() * 2 - 1) * limit;
  return values;
}

/** Inverted dropout mask (Keras): kept units are scaled by 1 / (1 - rate), dropped ones are 0. */
export function dropoutMask(size: number, rate: number, random: RandomSource): Float32Array {
  const keep = 1 / (1 - rate);
  const mask = new Float32Array(size);
  for (let i = 0; i < size; i++) mask[i] = random() >= rate ? keep : 0;
  return mask;
}

// Independent random streams derived from a head's seed: every engine draws the same numbers.
const INIT_STREAM = 1;
const DROPOUT_STREAM = 2;

/** Layer `layer`'s initial kernel, transposed ([units, inputs]): Glorot-uniform from the head's seed. */
export function initialKernelT(seed: number, layer: number, inputs: number, units: number): Float32Array {
  return glorotUniform(inputs, units, seededRandom(seed, INIT_STREAM, layer));
}

/** The dropout masks of update `step`, one [rows, hidden[l]] per hidden layer; undefined without dropout. */
export function stepDropoutMasks(seed: number, step: number, rows: number, hidden: number[], rate: number): Float32Array[] | undefined {
  return rate > 0 ? hidden.map((units, l) => dropoutMask(rows * units, rate, seededRandom(seed, DROPOUT_STREAM, step, l))) : undefined;
}
