/** Hidden layers narrower than this are not added by the default rule (see defaultHiddenSizes). */
export const MIN_DEFAULT_HIDDEN = 16;
/** The tutorial's depth: two hidden layers at most. */
export const MAX_DEFAULT_HIDDEN_LAYERS = 2;

/** The power of two nearest to `value` (by absolute difference; ties go to the larger). */
export function nearestPowerOfTwo(value: number): number {
  if (!(value > 0)) throw new RangeError(`nearestPowerOfTwo needs a positive number, got ${value}`);
  const lower = 2 ** Math.floor(Math.log2(value));
  const upper = lower * 2;
  return value - lower < upper - value ? lower : upper;
}

/**
 * The tutorial's rule of thumb for MLP hidden sizes: "take the square root of the previous number
 * of nodes in the layer and then find the closest power of 2" — 100,352 → √ 316.8 → 256 → √ 16 → 16.
 *
 * Applied repeatedly, at most MAX_DEFAULT_HIDDEN_LAYERS (2) times, and a layer is only added while
 * it is at least MIN_DEFAULT_HIDDEN (16) wide and at least as wide as the number of classes: a
 * bottleneck narrower than that throws information away before the classifier sees it. (For
 * 100,352 the next step would be 4, so the tutorial's [256, 16] comes out exactly.) At least one
 * hidden layer is always returned, for tiny inputs the rule's first size, whatever it is.
 *
 *   100,352 (ResNet-50 flattened) → [256, 16]
 *     2,048 (ResNet-50 pooled)    → [32]      (√ 45.3 → 32; √ 32 = 5.7 → 4, too narrow)
 *     1,280 (MobileNetV2 pooled)  → [32]      (√ 35.8 → 32; then 4, too narrow)
 */
export function defaultHiddenSizes(inputDim: number, classes = 2): number[] {
  if (!Number.isInteger(inputDim) || inputDim < 1) throw new RangeError(`inputDim must be a positive integer, got ${inputDim}`);
  const floor = Math.max(MIN_DEFAULT_HIDDEN, classes);
  const sizes: number[] = [];
  let previous = inputDim;
  while (sizes.length < MAX_DEFAULT_HIDDEN_LAYERS) {
    const next = nearestPowerOfTwo(Math.sqrt(previous));
    if (next < floor) break;
    sizes.push(next);
    previous = next;
  }
  return sizes.length > 0 ? sizes : [nearestPowerOfTwo(Math.sqrt(inputDim))];
}
