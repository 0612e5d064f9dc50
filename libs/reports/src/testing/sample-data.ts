/** Deterministic, plausible data for tests and sample charts: a 25-epoch run on clothing-small. */
import type { EpochCurvePoint } from '../svg/training-curves';

export const CLOTHING_SMALL_CLASSES = ['dress', 'hat', 'longsleeve', 'outwear', 'pants', 'shirt', 'shoes', 'shorts', 'skirt', 't-shirt'];

/** Park–Miller: the same numbers on every run and machine. */
export function seededRandom(seed: number): () => number {
  let state = seed % 2147483647 || 1;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

/** Training loss falls steadily; validation flattens and creeps up after epoch ~15 (mild overfitting). */
export function sampleEpochs(count = 25): EpochCurvePoint[] {
  const random = seededRandom(11);
  const noise = (scale: number) => (random() - 0.5) * scale;
  return Array.from({ length: count }, (_, i) => {
    const epoch = i + 1;
    const trainLoss = 0.18 + 1.5 * Math.exp(-epoch / 6) + noise(0.03);
    const valLoss = 0.52 + 1.1 * Math.exp(-epoch / 4.5) + 0.006 * Math.max(0, epoch - 15) ** 1.5 + noise(0.05);
    return {
      epoch,
      trainLoss,
      trainAccuracy: Math.min(0.995, 0.97 - 0.62 * Math.exp(-epoch / 5) + noise(0.012)),
      valLoss,
      valAccuracy: Math.min(0.99, 0.86 - 0.5 * Math.exp(-epoch / 4) + noise(0.025)),
    };
  });
}

/**
 * Labels for an evaluation split of `size` samples, mostly right, with the confusions a clothing
 * classifier makes (shirt ↔ t-shirt ↔ longsleeve, shorts ↔ pants, dress ↔ skirt).
 */
export function sampleLabels(size = 372): { truth: number[]; predicted: number[] } {
  const random = seededRandom(5);
  const lookalikes: Record<number, number[]> = { 0: [8, 3], 2: [9, 5, 3], 3: [2, 5], 4: [7], 5: [9, 2], 7: [4, 8], 8: [0, 7], 9: [5, 2] };
  const classWeights = [0.1, 0.03, 0.18, 0.07, 0.1, 0.08, 0.08, 0.08, 0.03, 0.25];
  const truth: number[] = [];
  const predicted: number[] = [];
  for (let i = 0; i < size; i++) {
    let r = random();
    let t = 0;
    while (t < classWeights.length - 1 && r > classWeights[t]) r -= classWeights[t++];
    const options = lookalikes[t] ?? [];
    const x = random();
    const p = x < 0.84 || options.length === 0 ? t : x < 0.97 ? options[Math.floor(random() * options.length)] : Math.floor(random() * 10);
    truth.push(t);
    predicted.push(p);
  }
  return { truth, predicted };
}
