// Module-level aliases: inside jest's vm context every global lookup (Math) is slow in hot loops.
const imul = Math.imul;

/** Deterministic pseudo-random float32 values keyed by a string, so a test can regenerate them. */
export function seededValues(key: string, count: number, low: number, high: number): Float32Array {
  let state = fnv1a(key);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    // mulberry32
    state = (state + 0x6d2b79f5) | 0;
    let t = imul(state ^ (state >>> 15), 1 | state);
    t = (t + imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = low + (high - low) * unit;
  }
  return out;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
