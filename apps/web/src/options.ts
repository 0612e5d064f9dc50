/**
 * The choices the console's forms offer. Spelled out here, not imported, since the contracts'
 * constants come with their zod schemas (the bundle would carry zod); options.unit.spec.ts checks
 * they are the contracts' own.
 */
export const DATASET_LAYOUTS = ['auto', 'split-class', 'food5k', 'class'] as const;
export const POOLINGS = ['avg', 'max', 'avg+max', 'none'] as const;
export const FEATURE_DTYPES = ['float32', 'float16'] as const;
export const ENGINES = ['auto', 'tfjs', 'onnx'] as const;
/** `auto`: the best head a search on the validation split finds (`featx train --head auto`). */
export const HEADS = ['auto', 'mlp', 'logistic'] as const;
/** int8 runs on ONNX Runtime (engine onnx or auto). */
export const PRECISIONS = ['fp32', 'int8'] as const;
