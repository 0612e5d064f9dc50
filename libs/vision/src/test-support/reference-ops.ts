/**
 * Plain-loop reference implementations of the CNN operations (float64, HWC), deliberately naive,
 * to check TF.js results against something that shares no code with it.
 */
// Module-level aliases: inside jest's vm context every global lookup (Math) is slow in hot loops.
const { max, sqrt, floor, exp } = Math;

export interface FeatureMap {
  h: number;
  w: number;
  c: number;
  data: Float64Array;
}

export function featureMap(h: number, w: number, c: number, data?: ArrayLike<number>): FeatureMap {
  const map = { h, w, c, data: new Float64Array(h * w * c) };
  if (data) map.data.set(data);
  return map;
}

export function at(x: FeatureMap, y: number, xx: number, ch: number): number {
  return x.data[(y * x.w + xx) * x.c + ch]!;
}

export function zeroPad(x: FeatureMap, pad: number): FeatureMap {
  const out = featureMap(x.h + 2 * pad, x.w + 2 * pad, x.c);
  for (let y = 0; y < x.h; y++)
    for (let xx = 0; xx < x.w; xx++)
      for (let ch = 0; ch < x.c; ch++) out.data[((y + pad) * out.w + xx + pad) * x.c + ch] = at(x, y, xx, ch);
  return out;
}

/** kernel is Keras' [k, k, in, out] flattened. 'same' here is only used with stride 1 and odd k. */
export function conv2d(x: FeatureMap, kernel: ArrayLike<number>, bias: ArrayLike<number>, k: number, cout: number, stride: number, padding: 'same' | 'valid'): FeatureMap {
  const src = padding === 'same' ? zeroPad(x, (k - 1) / 2) : x;
  const oh = floor((src.h - k) / stride) + 1;
  const ow = floor((src.w - k) / stride) + 1;
  const out = featureMap(oh, ow, cout);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let co = 0; co < cout; co++) {
        let sum = bias[co]!;
        for (let ky = 0; ky < k; ky++)
          for (let kx = 0; kx < k; kx++)
            for (let ci = 0; ci < x.c; ci++) {
              sum += at(src, oy * stride + ky, ox * stride + kx, ci) * kernel[((ky * k + kx) * x.c + ci) * cout + co]!;
            }
        out.data[(oy * ow + ox) * cout + co] = sum;
      }
  return out;
}

export function batchNorm(x: FeatureMap, gamma: ArrayLike<number>, beta: ArrayLike<number>, mean: ArrayLike<number>, variance: ArrayLike<number>, epsilon: number): FeatureMap {
  const out = featureMap(x.h, x.w, x.c);
  for (let i = 0; i < x.data.length; i++) {
    const ch = i % x.c;
    out.data[i] = ((x.data[i]! - mean[ch]!) / sqrt(variance[ch]! + epsilon)) * gamma[ch]! + beta[ch]!;
  }
  return out;
}

export function relu(x: FeatureMap): FeatureMap {
  return { ...x, data: x.data.map((v) => max(0, v)) };
}

export function add(a: FeatureMap, b: FeatureMap): FeatureMap {
  return { ...a, data: a.data.map((v, i) => v + b.data[i]!) };
}

export function maxPool(x: FeatureMap, k: number, stride: number): FeatureMap {
  const oh = floor((x.h - k) / stride) + 1;
  const ow = floor((x.w - k) / stride) + 1;
  const out = featureMap(oh, ow, x.c);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let ch = 0; ch < x.c; ch++) {
        let best = -Infinity;
        for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) best = max(best, at(x, oy * stride + ky, ox * stride + kx, ch));
        out.data[(oy * ow + ox) * x.c + ch] = best;
      }
  return out;
}

export function globalAveragePool(x: FeatureMap): Float64Array {
  const out = new Float64Array(x.c);
  for (let i = 0; i < x.data.length; i++) out[i % x.c] += x.data[i]! / (x.h * x.w);
  return out;
}

export function denseSoftmax(v: ArrayLike<number>, kernel: ArrayLike<number>, bias: ArrayLike<number>, units: number): Float64Array {
  const logits = new Float64Array(units);
  for (let u = 0; u < units; u++) {
    let sum = bias[u]!;
    for (let i = 0; i < v.length; i++) sum += v[i]! * kernel[i * units + u]!;
    logits[u] = sum;
  }
  const top = max(...logits);
  const exps = logits.map((l) => exp(l - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}
