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
    /** `onnx`: an ONNX file, run by the onnx engine only. */
    format: z.enum(['layers', 'graph', 'onnx']),
    /** [height, width]; a single number means square. */
    inputSize: z.union([size.transform((n): [number, number] => [n, n]), z.tuple([size, size])]),
    /** Channel order the network expects; `caffe` implies bgr, `tf`/`torch` imply rgb. */
    channelOrder: z.enum(['rgb', 'bgr']).optional(),
    preprocessing: PreprocessingSpecSchema,
    /** Layer (layers format), node (graph format) or graph output (onnx format) whose output are the features. */
    featureLayer: z.string().min(1),
    /** onnx format: layout of the image input and of a 4-D feature output (PyTorch exports are NCHW). */
    layout: z.enum(['NCHW', 'NHWC']).optional(),
    /** onnx format: graph input to feed; default the model's first input. */
    inputName: z.string().min(1).optional(),
    /** A file in the folder with one class name per line, or the names themselves. */
    labels: z.union([z.string().min(1), z.array(z.string())]).optional(),
    /** Index of labels[0] in the model's output (e.g. 1 when output 0 is "background" but the file lacks it). */
    labelOffset: z.number().int().min(0).default(0),
    /** Model file inside the folder; default model.json (model.onnx for the onnx format). */
    modelFile: z.string().min(1).optional(),
  })
  .strict()
  .transform((spec) => ({ ...spec, modelFile: spec.modelFile ?? (spec.format === 'onnx' ? 'model.onnx' : 'model.json') }))
  .superRefine((spec, ctx) => {
    if (spec.format === 'onnx' && !spec.layout) {
      ctx.addIssue({ code: 'custom', path: ['layout'], message: "the onnx format needs layout 'NCHW' or 'NHWC'" });
    }
    if (spec.format !== 'onnx' && (spec.layout || spec.inputName)) {
      ctx.addIssue({ code: 'custom', path: [spec.layout ? 'layout' : 'inputName'], message: 'only the onnx format takes layout and inputName' });
    }
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
