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
  classes: string[];
  predictions: Prediction[];
}
