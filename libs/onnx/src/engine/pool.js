'use strict';
/**
 * Pooling of raw network outputs, in plain JavaScript so that the ONNX Runtime worker thread
 * (session-worker.js) runs it without a TypeScript loader. Types: pool.d.ts.
 */

/**
 * Pools a raw network output to row-major [N, D] float32, matching the TF.js engine (poolFeatures):
 * 'none' flattens in NHWC order (an NCHW map is transposed first), 'avg'/'max' reduce over H and W
 * to C values, 'avg+max' to both concatenated (2C values). A 2-D [N, D] output passes through with 'none' only. Averages are summed in float64
 * and rounded once, so they may differ from TF.js in the last bit.
 */
function poolOutput(data, dims, layout, pooling) {
  if (pooling === 'avg+max') return concatenated(poolOutput(data, dims, layout, 'avg'), poolOutput(data, dims, layout, 'max'));
  if (dims.length === 2) {
    if (pooling !== 'none') throw new Error(`pooling '${pooling}' needs a 4-D feature map, got [${dims.join(',')}]`);
    return { data: data.slice(0, dims[0] * dims[1]), shape: [dims[0], dims[1]] };
  }
  if (dims.length !== 4) throw new Error(`output must be 4-D (${layout}) or [N,D], got [${dims.join(',')}]`);
  const n = dims[0];
  const [c, h, w] = layout === 'NCHW' ? [dims[1], dims[2], dims[3]] : [dims[3], dims[1], dims[2]];
  const per = c * h * w;
  const hw = h * w;
  if (pooling === 'none') {
    if (layout === 'NHWC') return { data: data.slice(0, n * per), shape: [n, per] };
    const out = new Float32Array(n * per);
    for (let b = 0; b < n; b++) {
      const base = b * per;
      for (let ch = 0; ch < c; ch++) {
        const src = base + ch * hw;
        for (let p = 0; p < hw; p++) out[base + p * c + ch] = data[src + p];
      }
    }
    return { data: out, shape: [n, per] };
  }
  const out = new Float32Array(n * c);
  const acc = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    const base = b * per;
    acc.fill(pooling === 'avg' ? 0 : -Infinity);
    if (layout === 'NCHW') {
      for (let ch = 0; ch < c; ch++) {
        const src = base + ch * hw;
        let a = acc[ch];
        if (pooling === 'avg') for (let p = 0; p < hw; p++) a += data[src + p];
        else for (let p = 0; p < hw; p++) a = Math.max(a, data[src + p]);
        acc[ch] = a;
      }
    } else {
      for (let p = 0; p < hw; p++) {
        const src = base + p * c;
        if (pooling === 'avg') for (let ch = 0; ch < c; ch++) acc[ch] += data[src + ch];
        else for (let ch = 0; ch < c; ch++) acc[ch] = Math.max(acc[ch], data[src + ch]);
      }
    }
    for (let ch = 0; ch < c; ch++) out[b * c + ch] = pooling === 'avg' ? acc[ch] / hw : acc[ch];
  }
  return { data: out, shape: [n, c] };
}

/** Two [N, C] poolings as one [N, 2C]: each row the first's values, then the second's. */
function concatenated(first, second) {
  const [n, c] = first.shape;
  const out = new Float32Array(n * 2 * c);
  for (let b = 0; b < n; b++) {
    out.set(first.data.subarray(b * c, (b + 1) * c), b * 2 * c);
    out.set(second.data.subarray(b * c, (b + 1) * c), b * 2 * c + c);
  }
  return { data: out, shape: [n, 2 * c] };
}

/** NHWC float32 batch → NCHW. */
function nhwcToNchw(src, n, h, w, c, out = new Float32Array(src.length)) {
  const hw = h * w;
  for (let b = 0; b < n; b++) {
    const base = b * hw * c;
    for (let p = 0; p < hw; p++) {
      const s = base + p * c;
      for (let ch = 0; ch < c; ch++) out[base + ch * hw + p] = src[s + ch];
    }
  }
  return out;
}

module.exports = { poolOutput, nhwcToNchw };
