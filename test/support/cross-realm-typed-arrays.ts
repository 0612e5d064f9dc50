/**
 * Under jest (a vm context per file) onnxruntime-node's native outputs are typed arrays of the
 * outer realm and fail onnxruntime-common's `instanceof Float32Array`; in the calling file's realm,
 * let instanceof check the brand tag instead. Call in beforeAll of specs that run ORT in-process.
 */
export function typedArraysAcrossRealms(): void {
  for (const ctor of [Float32Array, Int32Array, Uint8Array, Int8Array, BigInt64Array]) {
    const tag = `[object ${ctor.name}]`;
    Object.defineProperty(ctor, Symbol.hasInstance, { configurable: true, value: (v: unknown) => Object.prototype.toString.call(v) === tag });
  }
}
