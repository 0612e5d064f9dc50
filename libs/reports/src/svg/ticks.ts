/** Axis scales: linear mapping plus "nice" round tick values, in the spirit of matplotlib's locator. */

export interface LinearScale {
  domain: [number, number];
  range: [number, number];
  (value: number): number;
}

export function linearScale(domain: [number, number], range: [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  const scale = ((value: number) => r0 + ((value - d0) / span) * (r1 - r0)) as LinearScale;
  scale.domain = domain;
  scale.range = range;
  return scale;
}

/** A step of 1, 2, 2.5 or 5 × 10^k giving about `target` intervals over `span`. */
export function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const factor = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 2.5 ? 2.5 : residual <= 5 ? 5 : 10;
  return factor * magnitude;
}

export interface NiceAxis {
  domain: [number, number];
  ticks: number[];
  step: number;
}

/**
 * Extends [min, max] outward to multiples of a nice step and lists the ticks. A flat range is
 * widened first so a constant series still gets an axis.
 */
export function niceAxis(min: number, max: number, target = 5): NiceAxis {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return niceAxis(0, 1, target);
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 0.5;
    return niceAxis(min - pad, max + pad, target);
  }
  const step = niceStep(max - min, target);
  const start = Math.floor(min / step + 1e-9) * step;
  const end = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; start + i * step <= end + step * 1e-9; i++) ticks.push(roundTo(start + i * step, step));
  return { domain: [ticks[0], ticks[ticks.length - 1]], ticks, step };
}

/** Decimals needed to print multiples of `step` exactly (0.25 → 2, 5 → 0). */
export function decimalsFor(step: number): number {
  for (let decimals = 0; decimals < 12; decimals++) {
    const scaled = step * 10 ** decimals;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return decimals;
  }
  return 12;
}

/** Removes float noise (0.30000000000000004) from a multiple of `step`. */
function roundTo(value: number, step: number): number {
  const decimals = decimalsFor(step);
  return Number(value.toFixed(decimals));
}
