/**
 * Test-time augmentation of a prediction: `hflip` = the network also runs on the image's
 * horizontal mirror, and the head's two probability vectors are averaged.
 */
export const TEST_TIME_AUGMENTS = ['none', 'hflip'] as const;
export type TestTimeAugment = (typeof TEST_TIME_AUGMENTS)[number];

/** One image classified by POST /runs/:id/predict (or /predict/upload). */
export interface Prediction {
  image: string;
  label: string | null;
  probability: number | null;
  probabilities: Record<string, number> | null;
  error: string | null;
}

/** What POST /runs/:id/predict and POST /runs/:id/predict/upload return. */
export interface PredictResponse {
  runId: string;
  /** The test-time augmentation the probabilities come from. */
  tta: TestTimeAugment;
  classes: string[];
  predictions: Prediction[];
}
