import type { CalibrationMethod, Int8CalibrationPlan } from '@featx/contracts';
import { decodeImage, type DecodedImage } from '@featx/vision';
import type { Int8Options } from './select-engine';

/** A data-root reference as int8 plans hold them. */
type PlannedImage = Int8CalibrationPlan['calibration'][number];

export interface Int8PlanReader {
  /** The absolute path of a planned image (its data root resolved). */
  resolve: (image: PlannedImage) => Promise<string>;
  /** Told of each planned image that cannot be read; it is left out of the sample. */
  onUnreadable: (image: PlannedImage, reason: string) => void;
}

/**
 * How to quantize an int8 feature set's network, from its plan: the calibration and held-back
 * images decoded at the network's input size, as every extractor replica and the API read them, so
 * that each makes the same int8 model (the same content key) from the same photos.
 */
export function int8OptionsFromPlan(plan: Int8CalibrationPlan & { method?: CalibrationMethod; key?: string }, reader: Int8PlanReader): Int8Options {
  const decodeAll = async (images: readonly PlannedImage[], size: [number, number]) => {
    const decoded: DecodedImage[] = [];
    for (const image of images) {
      try {
        decoded.push(await decodeImage(await reader.resolve(image), { size }));
      } catch (error) {
        reader.onUnreadable(image, (error as Error).message);
      }
    }
    return decoded;
  };
  return {
    calibrationImages: (size) => decodeAll(plan.calibration, size),
    heldBackImages: (size) => decodeAll(plan.heldBack, size),
    threshold: plan.threshold,
    method: plan.method,
    expectedKey: plan.key,
  };
}
