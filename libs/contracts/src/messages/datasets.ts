import { z } from 'zod';
import { commandV1 } from '../contract';

export const DATASET_LAYOUTS = ['auto', 'split-class', 'food5k', 'class'] as const;
export type DatasetLayout = (typeof DATASET_LAYOUTS)[number];

export const SPLITS = ['training', 'validation', 'evaluation'] as const;
export type Split = (typeof SPLITS)[number];

export const splitRatiosSchema = z
  .object({
    training: z.number().min(0).max(1),
    validation: z.number().min(0).max(1),
    evaluation: z.number().min(0).max(1),
  })
  .strict()
  .refine((r) => Math.abs(r.training + r.validation + r.evaluation - 1) < 1e-6, {
    message: 'split ratios must add up to 1',
  });
export type SplitRatios = z.infer<typeof splitRatiosSchema>;

export const DEFAULT_SPLIT_RATIOS: SplitRatios = { training: 0.8, validation: 0.1, evaluation: 0.1 };

/** Options of a dataset registration, shared by the bus command and the REST body. */
export const registerDatasetOptionsSchema = z
  .object({
    /** Folder to register: absolute, or relative to the first data root. Must lie inside a data root. */
    path: z.string().min(1).max(4096),
    name: z.string().min(1).max(200).optional(),
    layout: z.enum(DATASET_LAYOUTS).default('auto'),
    /** Food-5K layout: class names by index (`0_12.jpg` is classes[0]); else read from classes.txt. */
    classes: z.array(z.string().min(1).max(200)).min(1).max(100000).optional(),
    /** Class-only layout: the seeded, stratified split. */
    splitRatios: splitRatiosSchema.optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
  })
  .strict();
export type RegisterDatasetOptions = z.infer<typeof registerDatasetOptionsSchema>;

export const registerDatasetCommand = commandV1('datasets.register', (n) => n.subjects.registerDataset, registerDatasetOptionsSchema);
