import { z } from 'zod';

/**
 * `featx-model.json`: what the code needs to know about a TF.js model folder beyond the model itself.
 * Example:
 * { "format": "layers", "inputSize": [224, 224], "preprocessing": { "mean": 127, "std": 127.5 },
 *   "featureLayer": "conv_MobileNetV2_Conv2d_18_1", "labels": "labels.txt" }
 */
export const MODEL_SPEC_FILE = 'featx-model.json';

const size = z.number().int().positive();
const scalarOrTriple = z.union([z.number(), z.array(z.number()).length(3)]);

export const PreprocessingSpecSchema = z.union([
  z.enum(['caffe', 'tf', 'torch']),
  z.object({ mean: scalarOrTriple, std: scalarOrTriple }).strict(),
]);

export const ModelSpecSchema = z
  .object({
    format: z.enum(['layers', 'graph']),
    /** [height, width]; a single number means square. */
    inputSize: z.union([size.transform((n): [number, number] => [n, n]), z.tuple([size, size])]),
    /** Channel order the network expects; `caffe` implies bgr, `tf`/`torch` imply rgb. */
    channelOrder: z.enum(['rgb', 'bgr']).optional(),
    preprocessing: PreprocessingSpecSchema,
    /** Layer (layers format) or node (graph format) whose output are the features. */
    featureLayer: z.string().min(1),
    /** A file in the folder with one class name per line, or the names themselves. */
    labels: z.union([z.string().min(1), z.array(z.string())]).optional(),
    /** Index of labels[0] in the model's output (e.g. 1 when output 0 is "background" but the file lacks it). */
    labelOffset: z.number().int().min(0).default(0),
    /** Model file inside the folder. */
    modelFile: z.string().min(1).default('model.json'),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const implied = spec.preprocessing === 'caffe' ? 'bgr' : typeof spec.preprocessing === 'string' ? 'rgb' : undefined;
    if (implied && spec.channelOrder && spec.channelOrder !== implied) {
      ctx.addIssue({
        code: 'custom',
        path: ['channelOrder'],
        message: `preprocessing '${String(spec.preprocessing)}' implies channelOrder '${implied}'`,
      });
    }
  });

/** A validated spec (defaults filled in, inputSize as [h, w]). */
export type ModelSpec = z.output<typeof ModelSpecSchema>;
/** What may be written in featx-model.json or passed in code. */
export type ModelSpecInput = z.input<typeof ModelSpecSchema>;

/**
 * Specs for known read-only folders that cannot hold a featx-model.json, keyed by folder name.
 * mobilenet_v2_1.0_224: see its README — (pixel - 127) / 127.5, RGB, output index 0 is "background"
 * and labels.txt lists all 1001 outputs, so no offset.
 */
export const BUILTIN_MODEL_SPECS: Readonly<Record<string, ModelSpecInput>> = {
  'mobilenet_v2_1.0_224': {
    format: 'layers',
    inputSize: [224, 224],
    channelOrder: 'rgb',
    preprocessing: { mean: 127, std: 127.5 },
    featureLayer: 'conv_MobileNetV2_Conv2d_18_1',
    labels: 'labels.txt',
    labelOffset: 0,
  },
};

/** Validates a spec, with a readable message naming where it came from. */
export function parseModelSpec(input: unknown, origin: string): ModelSpec {
  const result = ModelSpecSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid model spec (${origin}): ${issues}`);
  }
  return result.data;
}
