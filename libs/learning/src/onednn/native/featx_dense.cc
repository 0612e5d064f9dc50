// featx_dense.node: the few dense-layer kernels the `onednn` head engine (../onednn-head.ts) runs,
// operating in place on Float32Arrays passed from JavaScript (no copy in, no copy out).
//
// Why oneDNN: its sgemm (JIT-generated for the CPU it runs on) runs the tutorial step's shapes
// ([256 × 100,352]·[100,352 × 32] and [256 × 32]·[32 × 100,352]) at 90-130 GFLOP/s forward on this
// 2-core machine, against 56 for OpenBLAS 0.3.21 (which mis-detects this CPU and packs B every
// call), and it is a Debian package (libdnnl-dev / libdnnl2) with an OpenMP runtime (libgomp1).
//
// Why a native addon: the other engines cannot keep the weights where the GEMM runs.
// onnxruntime-node copies every output — the updated 100 MB kernel and its optimizer slots — into
// fresh memory each step (206 MB a step for SGD with momentum); TF.js' wasm backend runs one thread
// of 128-bit SIMD (16-23 GFLOP/s here). Here the weights stay in JavaScript's Float32Arrays, and a
// kernel's update — its gradient GEMM, the optimizer — and the next batch's forward GEMM are one
// pass over the kernel and its slots (see kernel passes).
//
// Every argument is checked (type, integer range, array length against the matrix it must hold,
// written arrays not overlapping read ones) and a bad call throws a TypeError or RangeError that
// names the argument: nothing here may crash the process or touch memory outside the arrays given.
//
// Built by tools/build-native.js (node-gyp, binding.gyp beside this file).

#include <node_api.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#if defined(__SSE__)
#include <immintrin.h>
#include <xmmintrin.h>
#endif

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------------
// Elementwise kernels. Cloned for AVX-512 and AVX2 (chosen at load time by the CPU), so that one
// binary built anywhere runs at full width on the machine it lands on; oneDNN's GEMM dispatches
// on its own.

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FEATX_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FEATX_CLONES
#endif

/** Σ w² of `count` floats: a float accumulator per SIMD lane, the sum returned in double. */
FEATX_CLONES double sumSquares(const float* w, int64_t count) {
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < count; j++) sum += w[j] * w[j];
  return sum;
}

/**
 * SGD with momentum, after the GEMM left v = m·v + g' in the row (g' = −lr_t·g, see
 * ../onednn-head.ts): v += decay·w; w += v.
 */
FEATX_CLONES void sgdMomentumRow(float* w, float* v, int64_t count, float decay) {
  if (decay != 0) {
#pragma omp simd
    for (int64_t j = 0; j < count; j++) {
      const float next = v[j] + decay * w[j];
      v[j] = next;
      w[j] += next;
    }
  } else {
#pragma omp simd
    for (int64_t j = 0; j < count; j++) w[j] += v[j];
  }
}

/** Plain SGD's L2 term, before the GEMM adds g' to the row: w += decay·w. */
FEATX_CLONES void sgdDecayRow(float* w, int64_t count, float decay) {
#pragma omp simd
  for (int64_t j = 0; j < count; j++) w[j] += decay * w[j];
}

struct AdamConstants {
  float alpha, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, decay;
};

/**
 * Keras Adam on one row, g the GEMM's gradient: g += decay·w; m = β1·m + (1−β1)·g;
 * v = β2·v + (1−β2)·g²; w −= α·m/(√v + ε), α with the bias corrections folded in (the operations
 * and their order are optimizers.ts').
 */
FEATX_CLONES void adamRow(float* w, float* m, float* v, const float* g, int64_t count, const AdamConstants& c) {
#pragma omp simd
  for (int64_t j = 0; j < count; j++) {
    const float old = w[j];
    const float gradient = g[j] + c.decay * old;
    const float mNext = m[j] * c.beta1 + gradient * c.oneMinusBeta1;
    const float vNext = v[j] * c.beta2 + (gradient * gradient) * c.oneMinusBeta2;
    m[j] = mNext;
    v[j] = vNext;
    w[j] = old - (mNext / (std::sqrt(vNext) + c.epsilon)) * c.alpha;
  }
}

FEATX_CLONES void axpyRange(float alpha, const float* x, float* y, int64_t count) {
#pragma omp simd
  for (int64_t j = 0; j < count; j++) y[j] += alpha * x[j];
}

// ---------------------------------------------------------------------------------------------
// Argument checking. Each helper throws and returns false on a bad argument; callers return
// nullptr at once (the pending exception is what JavaScript sees).

struct Call {
  napi_env env;
  const char* function;
  napi_value argv[16];
  size_t argc = 16;

  bool typeError(const std::string& message) {
    napi_throw_type_error(env, nullptr, (std::string(function) + ": " + message).c_str());
    return false;
  }
  bool rangeError(const std::string& message) {
    napi_throw_range_error(env, nullptr, (std::string(function) + ": " + message).c_str());
    return false;
  }
};

bool start(Call& call, napi_env env, napi_callback_info info, const char* function, size_t expected) {
  call.env = env;
  call.function = function;
  if (napi_get_cb_info(env, info, &call.argc, call.argv, nullptr, nullptr) != napi_ok) return call.typeError("cannot read the arguments");
  if (call.argc != expected) return call.typeError("expects " + std::to_string(expected) + " arguments, got " + std::to_string(call.argc));
  return true;
}

struct FloatArray {
  float* data = nullptr;
  int64_t length = 0;
  const char* name = "";
  bool present() const { return data != nullptr || length > 0; }
};

/** A Float32Array (or, with `nullable`, null/undefined: an absent array of length 0). */
bool floatArray(Call& call, size_t index, const char* name, FloatArray& out, bool nullable = false) {
  out.name = name;
  napi_value value = call.argv[index];
  napi_valuetype kind;
  napi_typeof(call.env, value, &kind);
  if (nullable && (kind == napi_null || kind == napi_undefined)) return true;
  bool isTypedArray = false;
  napi_is_typedarray(call.env, value, &isTypedArray);
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  if (isTypedArray && napi_get_typedarray_info(call.env, value, &type, &length, &data, nullptr, nullptr) != napi_ok) isTypedArray = false;
  if (!isTypedArray || type != napi_float32_array) return call.typeError(std::string(name) + " must be a Float32Array" + (nullable ? " or null" : ""));
  out.data = static_cast<float*>(data);
  out.length = static_cast<int64_t>(length);
  // A detached buffer reports no data: treated as empty, so every length check below refuses it.
  if (out.data == nullptr) out.length = 0;
  return true;
}

bool number(Call& call, size_t index, const char* name, double& out) {
  napi_valuetype kind;
  napi_typeof(call.env, call.argv[index], &kind);
  if (kind != napi_number) return call.typeError(std::string(name) + " must be a number");
  napi_get_value_double(call.env, call.argv[index], &out);
  if (!std::isfinite(out)) return call.rangeError(std::string(name) + " must be finite, got " + std::to_string(out));
  return true;
}

bool integer(Call& call, size_t index, const char* name, int64_t minimum, int64_t& out) {
  double value;
  if (!number(call, index, name, value)) return false;
  // Dimensions up to 2^31 − 1: the product of two (a matrix's size, its span) stays far inside int64.
  if (value != std::floor(value) || value < static_cast<double>(minimum) || value > 2147483647.0) {
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", value);
    return call.rangeError(std::string(name) + " must be an integer from " + std::to_string(minimum) + " to 2147483647, got " + text);
  }
  out = static_cast<int64_t>(value);
  return true;
}

bool string(Call& call, size_t index, const char* name, std::string& out) {
  napi_valuetype kind;
  napi_typeof(call.env, call.argv[index], &kind);
  if (kind != napi_string) return call.typeError(std::string(name) + " must be a string");
  size_t length = 0;
  napi_get_value_string_utf8(call.env, call.argv[index], nullptr, 0, &length);
  out.resize(length);
  napi_get_value_string_utf8(call.env, call.argv[index], out.data(), length + 1, &length);
  return true;
}

bool boolean(Call& call, size_t index, const char* name, bool& out) {
  napi_valuetype kind;
  napi_typeof(call.env, call.argv[index], &kind);
  if (kind != napi_boolean) return call.typeError(std::string(name) + " must be a boolean");
  napi_get_value_bool(call.env, call.argv[index], &out);
  return true;
}

/** `array` must hold at least `required` values (`what` says which matrix they are). */
bool holds(Call& call, const FloatArray& array, int64_t required, const std::string& what) {
  if (array.length < required) {
    return call.rangeError(std::string(array.name) + " holds " + std::to_string(array.length) + " values, needs " + std::to_string(required) + " (" + what + ")");
  }
  return true;
}

/** `array` must hold exactly `required` values. */
bool sized(Call& call, const FloatArray& array, int64_t required, const std::string& what) {
  if (array.length != required) {
    return call.rangeError(std::string(array.name) + " holds " + std::to_string(array.length) + " values, expected " + std::to_string(required) + " (" + what + ")");
  }
  return true;
}

/** A written array may not share memory with another array of the call (the result would be garbage). */
bool disjoint(Call& call, const FloatArray& written, const FloatArray& other) {
  if (!written.present() || !other.present()) return true;
  const float* a0 = written.data;
  const float* a1 = written.data + written.length;
  const float* b0 = other.data;
  const float* b1 = other.data + other.length;
  if (a0 < b1 && b0 < a1) return call.rangeError(std::string(written.name) + " overlaps " + other.name + " (they must be separate memory)");
  return true;
}

std::string matrix(int64_t rows, int64_t cols, const char* ld, int64_t stride) {
  return std::to_string(rows) + " × " + std::to_string(cols) + ", " + ld + " " + std::to_string(stride);
}

/** Values a row-major rows × cols matrix with leading dimension `ld` spans. */
int64_t span(int64_t rows, int64_t cols, int64_t ld) {
  return (rows - 1) * ld + cols;
}

bool dnnlOk(Call& call, dnnl_status_t status) {
  if (status == dnnl_success) return true;
  napi_throw_error(call.env, nullptr, (std::string(call.function) + ": oneDNN sgemm failed with status " + std::to_string(static_cast<int>(status))).c_str());
  return false;
}

napi_value undefinedValue(napi_env env) {
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

napi_value numberValue(napi_env env, double value) {
  napi_value result;
  napi_create_double(env, value, &result);
  return result;
}

/**
 * Scratch memory of the calling thread (Adam's gradient tiles, per-tile sums), kept between calls
 * so that a step does not fault fresh pages in; grown when a call needs more.
 */
struct Scratch {
  void* memory = nullptr;
  size_t bytes = 0;
  ~Scratch() { std::free(memory); }
  void* get(size_t needed) {
    if (needed <= bytes) return memory;
    std::free(memory);
    memory = std::malloc(needed);
    bytes = memory ? needed : 0;
    return memory;
  }
};
thread_local Scratch scratch;

/** GEMMs of fewer multiply-adds than this run on the calling thread alone (as small passes). */
constexpr int64_t kParallelMultiplyAdds = 1 << 22;

/** OpenMP's thread count of this thread for the scope (oneDNN's sgemm follows it outside a parallel region). */
class ScopedThreads {
 public:
  explicit ScopedThreads(int threads) : saved_(omp_get_max_threads()) {
    if (threads != saved_) omp_set_num_threads(threads);
  }
  ~ScopedThreads() {
    if (omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
  }

 private:
  int saved_;
};

// ---------------------------------------------------------------------------------------------
// gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc): C = α·op(A)·op(B) + β·C,
// row-major (dnnl_sgemm's convention), op(A) m × k, op(B) k × n, C m × n. Offsets: pass views
// (Float32Array.subarray).

napi_value Gemm(napi_env env, napi_callback_info info) {
  Call call;
  if (!start(call, env, info, "gemm", 13)) return nullptr;
  bool transA, transB;
  int64_t m, n, k, lda, ldb, ldc;
  double alpha, beta;
  FloatArray a, b, c;
  if (!boolean(call, 0, "transA", transA) || !boolean(call, 1, "transB", transB) || !integer(call, 2, "m", 1, m) || !integer(call, 3, "n", 1, n) ||
      !integer(call, 4, "k", 1, k) || !number(call, 5, "alpha", alpha) || !floatArray(call, 6, "a", a) || !integer(call, 7, "lda", 1, lda) ||
      !floatArray(call, 8, "b", b) || !integer(call, 9, "ldb", 1, ldb) || !number(call, 10, "beta", beta) || !floatArray(call, 11, "c", c) ||
      !integer(call, 12, "ldc", 1, ldc))
    return nullptr;
  const int64_t aRows = transA ? k : m, aCols = transA ? m : k;
  const int64_t bRows = transB ? n : k, bCols = transB ? k : n;
  if (lda < aCols) {
    call.rangeError("lda must be ≥ " + std::to_string(aCols) + " (a is " + std::to_string(aRows) + " × " + std::to_string(aCols) + "), got " + std::to_string(lda));
    return nullptr;
  }
  if (ldb < bCols) {
    call.rangeError("ldb must be ≥ " + std::to_string(bCols) + " (b is " + std::to_string(bRows) + " × " + std::to_string(bCols) + "), got " + std::to_string(ldb));
    return nullptr;
  }
  if (ldc < n) {
    call.rangeError("ldc must be ≥ " + std::to_string(n) + " (c is " + std::to_string(m) + " × " + std::to_string(n) + "), got " + std::to_string(ldc));
    return nullptr;
  }
  if (!holds(call, a, span(aRows, aCols, lda), matrix(aRows, aCols, "lda", lda)) || !holds(call, b, span(bRows, bCols, ldb), matrix(bRows, bCols, "ldb", ldb)) ||
      !holds(call, c, span(m, n, ldc), matrix(m, n, "ldc", ldc)) || !disjoint(call, c, a) || !disjoint(call, c, b))
    return nullptr;
  ScopedThreads team(m * n * k < kParallelMultiplyAdds ? 1 : omp_get_max_threads());
  if (!dnnlOk(call, dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', m, n, k, static_cast<float>(alpha), a.data, lda, b.data, ldb, static_cast<float>(beta), c.data, ldc)))
    return nullptr;
  return undefinedValue(env);
}

// ---------------------------------------------------------------------------------------------
// Kernel passes. One pass over a kernel W [units, inputs] (row-major, the transpose of a Keras
// kernel) and its optimizer slots does, tile by tile while the tile is in cache:
//   - the update (optional): one optimizer step from the layer's dZᵀ [units, rows] and input
//     A [rows, inputs] of a training step, gradient G = dZᵀ·A: each tile's GEMM writes its gradient
//     straight into the velocity (SGD with momentum: β = m), the weights (plain SGD: β = 1) or a
//     per-thread tile (Adam), and the elementwise update follows;
//   - then the forward (optional): Zᵀ += W_tile·A'ᵀ for the next batch A' [rows', inputs], with
//     the weights just updated, and Σ w² of them (the L2 penalty of the step that runs this forward);
//     and, if asked, a copy of A' while its columns are in cache (the input of that step's update).
// So a training step that applies the previous step's update in its own forward pass reads and
// writes the kernel once, not twice (../onednn-head.ts defers each kernel's update so).
//
// Tiles are ≤ 256 units × `chunk` columns. The work is cut into items — a unit block and a run of
// column chunks — dealt to the OpenMP threads dynamically (a thread another process holds up does
// not hold the step up); each item adds its tiles' forward products into its own partial Zᵀ in
// column order, and the partials are added in item order. Nothing depends on which thread ran what
// or on the number of threads: results are the same bit for bit from run to run.

constexpr int64_t kTileUnits = 256;
constexpr int64_t kItemsPerUnitBlock = 32;
/**
 * Kernels smaller than this (weights) are passed on the calling thread alone: a pooled head's
 * kernel (1,280 × 32: 41k weights, microseconds of work) cost more in OpenMP's fork, join and
 * spinning threads than it saved, most of all on a loaded machine (the pooled head search took
 * 35-71 s with a thread per core against 10-12 s with one).
 */
constexpr int64_t kParallelWeights = 1 << 18;

/**
 * Flush-to-zero and denormals-are-zero on this thread for the scope (restored after: the calling
 * thread runs JavaScript, which must keep IEEE semantics). A training step whose loss is nearly 0
 * has denormal gradients (|x| < 1.2e-38; seen in dZᵀ of the tutorial's MLP after a few steps on
 * easy data), each one a microcode assist: the Adam pass went from 40 to 100 ms. Flushed, such a
 * value counts as 0, far below any tolerance (TF on CPUs flushes them too).
 */
class FlushDenormals {
 public:
#if defined(__SSE__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#endif
};

struct Update {
  enum Kind { kNone, kSgd, kAdam } kind = kNone;
  float* kernel = nullptr;  // the fused passes' copy carries it (set by kernelPass)
  const float* dzT = nullptr;
  const float* input = nullptr;
  int64_t rows = 0;
  float* velocity = nullptr;  // SGD with momentum
  float* m = nullptr;         // Adam
  float* v = nullptr;
  float momentum = 0, decay = 0;
  AdamConstants adam{};
};

struct Forward {
  const float* input = nullptr;  // null: no forward
  int64_t rows = 0;
  float* zT = nullptr;
  bool squares = false;
  float* keep = nullptr;  // a copy of input is wanted here (the next update's input), made while it passes
};

/** logisticObjective's problem (see there): the rows, their labels and weights, the weights and bias it evaluates, the loss scale. */
struct LogisticProblem {
  const float* x;
  int64_t rows, dim, classes;
  const int32_t* labels;
  const float* weights;  // null: every row weighs 1
  const float* kernelT;
  const float* bias;
  float scale;
};

// ---------------------------------------------------------------------------------------------
// Fused passes (AVX-512, or AVX2 with FMA). The oneDNN pass above runs a tile's gradient GEMM, its
// elementwise update and its forward GEMM one after the other: the GEMMs compute from cache while the update streams
// the kernel and its slots from memory, and the two do not overlap (the tutorial step's pass:
// GEMMs ≈ 15 ms, streaming ≈ 11 ms, the pass ≈ 30 ms). Here each register block of a few units ×
// 16-64 columns gets its gradient (FMAs of broadcast dZᵀ against the update's input rows), its
// update and its forward products in one go, while memory streams the next units' weights in
// (software prefetch): compute and memory traffic overlap. Measured (bench/fused-passes.ts): the
// tutorial's SGD pass 0.77-0.81 of the oneDNN pass's time, its step 1.2-1.4x the rows/s; Adam,
// bound by its three arrays' traffic, 0.87-0.99.
//
// A chunk of Lanes::kChunkColumns columns keeps the update's input columns and the next batch's columns
// (transposed, [columns][rows]) in L1 while the chunk's units go by kFusedUnits at a time. The
// forward accumulates per (unit, vector of rows) in registers over the chunk's columns, in column order,
// and adds into the item's partial Zᵀ; items are summed in item order as in the oneDNN pass, so the
// results do not depend on the threads. The path is the process's (the CPU's check, or
// setFusedPasses for benches and tests), never a pass's own: every pass (update alone, forward
// alone, both) runs the same arithmetic, so a head read after every step still takes bit-identical
// steps to one never read.

// GCC only: the kernels are compiled per ISA under `#pragma GCC target`, which clang does not take
// (a clang build keeps oneDNN's passes and the portable loops).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FEATX_FUSED_PASSES 1

/** Units per register block of the update (the forward's blocks: Lanes::kForwardUnits). */
constexpr int kFusedUnits = 4;
/** Register blocks ahead whose weights and slots are prefetched (≈ 1,000 cycles each at the tutorial's shapes). */
constexpr int kPrefetchBlocks = 2;

enum FusedKind { kFusedNone, kFusedMomentum, kFusedSgd, kFusedAdam };

/** Lanes [0, count) of a 16-float vector (count ≥ 16: all; ≤ 0: none). */
inline __mmask16 laneMask(int64_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xFFFF) : count <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << count) - 1);
}

// The register blocks are written once (isa_kernels.h: fused_passes.h, and logistic_tiles.h for
// logisticObjective) over a `Lanes` of each ISA, and compiled for each: AVX-512 (16 lanes; 32
// registers hold 4 units × 4 vectors of gradient accumulators, 4 units × 2 vectors × 2 sets of
// forward ones) and AVX2 with FMA (8 lanes; 16 registers hold 4 × 2 and 2 units × 4 vectors × 1
// set). Why AVX2 too: on a CPU without AVX-512 (an AMD EPYC Zen 3) the passes fell back to oneDNN's
// GEMMs tile by tile, which do not overlap the kernel's streaming with the arithmetic (the trainer
// end to end 590 rows/s against 715 fused), and logisticObjective to portable loops, a dot product
// per row and class (54-77 ms an evaluation of 6,136 × 1,280 rows, where the two oneDNN GEMMs it
// replaced took 27-41 and the AVX2 blocks take 15-21).
#pragma GCC push_options
#pragma GCC target("avx512f")
namespace avx512 {
struct Lanes {
  using Vector = __m512;
  using Mask = __mmask16;
  static constexpr int kWidth = 16;
  static constexpr int kUpdateVectors = 4, kForwardUnits = 4, kForwardRowVectors = 2, kForwardSets = 2;  // fused_passes.h
  static constexpr int kRowTile = 4, kClassTile = 4;                                                      // logistic_tiles.h
  /** Columns per chunk: the chunk's update input and transposed forward input (2 × 16 KB at 32 rows) stay in L1. */
  static constexpr int64_t kChunkColumns = 128;
  static Mask whole() { return static_cast<__mmask16>(0xFFFF); }
  static Mask tail(int64_t left) { return laneMask(left); }
  static Vector zero() { return _mm512_setzero_ps(); }
  static Vector load(const float* at, Mask m) { return _mm512_maskz_loadu_ps(m, at); }
  static Vector loadWhole(const float* at) { return _mm512_loadu_ps(at); }
  static void store(float* at, Mask m, Vector v) { _mm512_mask_storeu_ps(at, m, v); }
  static void storeAligned(float* at, Vector v) { _mm512_store_ps(at, v); }
  static Vector broadcast(float value) { return _mm512_set1_ps(value); }
  static Vector add(Vector a, Vector b) { return _mm512_add_ps(a, b); }
  static Vector mul(Vector a, Vector b) { return _mm512_mul_ps(a, b); }
  static Vector fmadd(Vector a, Vector b, Vector c) { return _mm512_fmadd_ps(a, b, c); }
  static Vector fnmadd(Vector a, Vector b, Vector c) { return _mm512_fnmadd_ps(a, b, c); }
  static Vector sqrt(Vector a) { return _mm512_sqrt_ps(a); }
  static Vector reciprocalEstimate(Vector a) { return _mm512_rcp14_ps(a); }
  static float sumLanes(Vector a) { return _mm512_reduce_add_ps(a); }
  static Vector inRegister(Vector a) { return a; }
  /** out[c·ldOut + r] = in[r·ldIn + c] for a 16 × 16 block: in-register transpose (4 rounds of shuffles). */
  static void transpose(const float* in, int64_t ldIn, float* out, int64_t ldOut) {
    __m512 a[16], b[16];
    for (int i = 0; i < 16; i++) a[i] = _mm512_loadu_ps(in + i * ldIn);
    for (int i = 0; i < 16; i += 2) {  // pairs of rows interleaved by element
      b[i] = _mm512_unpacklo_ps(a[i], a[i + 1]);
      b[i + 1] = _mm512_unpackhi_ps(a[i], a[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {  // then by pairs of elements
      a[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(b[i]), _mm512_castps_pd(b[i + 2])));
      a[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(b[i]), _mm512_castps_pd(b[i + 2])));
      a[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(b[i + 1]), _mm512_castps_pd(b[i + 3])));
      a[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(b[i + 1]), _mm512_castps_pd(b[i + 3])));
    }
    for (int i = 0; i < 16; i += 8)  // then 128-bit lanes of 4 rows with the next 4
      for (int j = 0; j < 4; j++) {
        b[i + j] = _mm512_shuffle_f32x4(a[i + j], a[i + j + 4], 0x88);
        b[i + j + 4] = _mm512_shuffle_f32x4(a[i + j], a[i + j + 4], 0xdd);
      }
    for (int j = 0; j < 8; j++) {  // and of 8 rows with the other 8
      _mm512_storeu_ps(out + j * ldOut, _mm512_shuffle_f32x4(b[j], b[j + 8], 0x88));
      _mm512_storeu_ps(out + (j + 8) * ldOut, _mm512_shuffle_f32x4(b[j], b[j + 8], 0xdd));
    }
  }
};
#include "isa_kernels.h"
}  // namespace avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
struct Lanes {
  using Vector = __m256;
  /** A whole vector (plain loads and stores: the masked ones are slower), or the first lanes of the last one. */
  struct Mask {
    bool whole;
    __m256i lanes;
  };
  static constexpr int kWidth = 8;
  static constexpr int kUpdateVectors = 2, kForwardUnits = 2, kForwardRowVectors = 4, kForwardSets = 1;  // fused_passes.h
  static constexpr int kRowTile = 2, kClassTile = 4;                                                      // logistic_tiles.h
  /**
   * Half AVX-512's chunk: the two packed inputs (2 × 8 KB at 32 rows) leave half of a 32 KB L1 to the
   * weights and slots coming in. Against 128 columns on the Zen 3 EPYC (bench/fused-passes.ts, two
   * runs each): the Adam pass 1.06-1.07x oneDNN's time instead of 1.17, the forward alone 1.05-1.07x
   * instead of 1.14, the SGD pass 0.85-0.93x instead of 0.93.
   */
  static constexpr int64_t kChunkColumns = 64;
  static Mask whole() { return {true, _mm256_set1_epi32(-1)}; }
  static Mask tail(int64_t left) {
    if (left >= kWidth) return whole();
    const int count = left < 0 ? 0 : static_cast<int>(left);
    return {false, _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))};
  }
  static Vector zero() { return _mm256_setzero_ps(); }
  static Vector load(const float* at, const Mask& m) { return m.whole ? _mm256_loadu_ps(at) : _mm256_maskload_ps(at, m.lanes); }
  static Vector loadWhole(const float* at) { return _mm256_loadu_ps(at); }
  static void store(float* at, const Mask& m, Vector v) {
    if (m.whole) _mm256_storeu_ps(at, v);
    else _mm256_maskstore_ps(at, m.lanes, v);
  }
  static void storeAligned(float* at, Vector v) { _mm256_store_ps(at, v); }
  static Vector broadcast(float value) { return _mm256_set1_ps(value); }
  static Vector add(Vector a, Vector b) { return _mm256_add_ps(a, b); }
  static Vector mul(Vector a, Vector b) { return _mm256_mul_ps(a, b); }
  static Vector fmadd(Vector a, Vector b, Vector c) { return _mm256_fmadd_ps(a, b, c); }
  static Vector fnmadd(Vector a, Vector b, Vector c) { return _mm256_fnmadd_ps(a, b, c); }
  static Vector sqrt(Vector a) { return _mm256_sqrt_ps(a); }
  static Vector reciprocalEstimate(Vector a) { return _mm256_rcp_ps(a); }
  /**
   * a, held in a register: GCC otherwise folds a vector used by several FMAs into each as a memory
   * operand, and the forward's block (2 units × 4 vectors) then loads 10 vectors for 8 FMAs.
   */
  static Vector inRegister(Vector a) {
    __asm__("" : "+x"(a));
    return a;
  }
  static float sumLanes(Vector a) {
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    return _mm_cvtss_f32(_mm_add_ss(sum, _mm_movehdup_ps(sum)));
  }
  /** out[c·ldOut + r] = in[r·ldIn + c] for an 8 × 8 block: pairs of rows interleaved, then pairs of pairs, then 128-bit halves. */
  static void transpose(const float* in, int64_t ldIn, float* out, int64_t ldOut) {
    __m256 a[8], b[8];
    for (int i = 0; i < 8; i++) a[i] = _mm256_loadu_ps(in + i * ldIn);
    for (int i = 0; i < 8; i += 2) {
      b[i] = _mm256_unpacklo_ps(a[i], a[i + 1]);
      b[i + 1] = _mm256_unpackhi_ps(a[i], a[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {  // rows i..i+3: columns j | j + 4 in a[i + j]
      a[i] = _mm256_shuffle_ps(b[i], b[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      a[i + 1] = _mm256_shuffle_ps(b[i], b[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      a[i + 2] = _mm256_shuffle_ps(b[i + 1], b[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      a[i + 3] = _mm256_shuffle_ps(b[i + 1], b[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; j++) {
      _mm256_storeu_ps(out + j * ldOut, _mm256_permute2f128_ps(a[j], a[j + 4], 0x20));
      _mm256_storeu_ps(out + (j + 4) * ldOut, _mm256_permute2f128_ps(a[j], a[j + 4], 0x31));
    }
  }
};
#include "isa_kernels.h"
}  // namespace avx2
#pragma GCC pop_options
#endif

/** The ISA of featx's own kernels (the fused passes, logisticObjective's blocks), or none: oneDNN's passes and portable loops. */
enum class KernelIsa { kPortable, kAvx2, kAvx512 };

/**
 * The CPU's widest (__builtin_cpu_supports also checks that the OS keeps the registers): AVX-512,
 * else AVX2 with FMA, else none.
 */
#if defined(FEATX_FUSED_PASSES)
const KernelIsa cpuKernelIsa = __builtin_cpu_supports("avx512f")                                     ? KernelIsa::kAvx512
                               : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? KernelIsa::kAvx2
                                                                                                   : KernelIsa::kPortable;
#else
const KernelIsa cpuKernelIsa = KernelIsa::kPortable;
#endif
/** The widest kernels wanted (setKernels, setFusedPasses: A/B benches, tests); the CPU's cap them. */
std::atomic<int> kernelsWanted{static_cast<int>(KernelIsa::kAvx512)};

/** The kernels in use: the widest both wanted and the CPU's. */
KernelIsa kernelIsa() {
  const int wanted = kernelsWanted.load(std::memory_order_relaxed);
  return wanted < static_cast<int>(cpuKernelIsa) ? static_cast<KernelIsa>(wanted) : cpuKernelIsa;
}

bool fusedPasses() { return kernelIsa() != KernelIsa::kPortable; }

const char* kernelIsaName(KernelIsa isa) { return isa == KernelIsa::kAvx512 ? "avx512" : isa == KernelIsa::kAvx2 ? "avx2" : "portable"; }

/** Columns per chunk of the fused pass in these kernels (each Lanes' kChunkColumns); 0 without them. */
int64_t fusedChunkColumns(KernelIsa isa) {
#if defined(FEATX_FUSED_PASSES)
  if (isa == KernelIsa::kAvx512) return avx512::Lanes::kChunkColumns;
  if (isa == KernelIsa::kAvx2) return avx2::Lanes::kChunkColumns;
#endif
  return 0;
}

/** Runs the pass; false (and `error`) if oneDNN failed or scratch memory could not be had. */
bool kernelPass(float* kernel, int64_t units, int64_t inputs, int64_t chunk, const Update& given, const Forward& forward, double& squares, std::string& error) {
  // The fused path has its own chunk (its Lanes::kChunkColumns): the caller's is the oneDNN tiles'.
  const KernelIsa isa = kernelIsa();
  const bool fused = isa != KernelIsa::kPortable;
#if defined(FEATX_FUSED_PASSES)
  if (fused) chunk = fusedChunkColumns(isa);
  const auto transposeColumns = isa == KernelIsa::kAvx512 ? avx512::transposeColumns : avx2::transposeColumns;
  const auto fusedChunkOf = isa == KernelIsa::kAvx512 ? avx512::fusedChunkOf : avx2::fusedChunkOf;
#endif
  Update update = given;
  update.kernel = kernel;
  const int64_t rowsPadded = forward.input ? (forward.rows + 15) / 16 * 16 : 0;
  const int64_t transposedFloats = fused ? chunk * (rowsPadded + (update.kind != Update::kNone ? update.rows : 0)) : 0;
  const int64_t chunks = (inputs + chunk - 1) / chunk;
  const int64_t unitBlocks = (units + kTileUnits - 1) / kTileUnits;
  const int64_t perBlock = chunks < kItemsPerUnitBlock ? chunks : kItemsPerUnitBlock;
  const int64_t items = unitBlocks * perBlock;
  const int threads = omp_get_max_threads();
  const int64_t partialFloats = forward.input ? kTileUnits * forward.rows : 0;
  const int64_t gradientFloats = update.kind == Update::kAdam && !fused ? kTileUnits * chunk : 0;
  // Per thread: Adam's gradient tile (oneDNN path), or the chunk's inputs packed (fused: the next
  // batch's transposed, then the update's).
  const int64_t threadFloats = gradientFloats + transposedFloats;
  // Sized in double first: absurd rows or chunks must fail here, not wrap around into a small buffer.
  const double wanted = 8.0 * items + 4.0 * partialFloats * items + 4.0 * threadFloats * threads;
  if (wanted > 68719476736.0) {  // 64 GiB
    error = "the pass would need " + std::to_string(wanted / 1073741824.0) + " GiB of scratch memory (fewer rows or a smaller chunk)";
    return false;
  }
  const size_t sumBytes = (sizeof(double) * items + 63) / 64 * 64;
  const size_t partialBytes = (sizeof(float) * partialFloats * items + 63) / 64 * 64;
  char* memory = static_cast<char*>(scratch.get(sumBytes + partialBytes + sizeof(float) * threadFloats * threads));
  if (!memory) {
    error = "out of memory for the pass's scratch arrays";
    return false;
  }
  double* sums = reinterpret_cast<double*>(memory);
  float* partials = reinterpret_cast<float*>(memory + sumBytes);
  float* gradients = reinterpret_cast<float*>(memory + sumBytes + partialBytes);
  int failed = 0;
  FlushDenormals flush;
  const bool parallel = items > 1 && units * inputs >= kParallelWeights;
  ScopedThreads team(parallel ? threads : 1);
#pragma omp parallel num_threads(parallel ? threads : 1) reduction(| : failed) if (parallel)
  {
    FlushDenormals flushHere;
    float* g = gradients + threadFloats * omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < items; item++) {
      const int64_t block = item / perBlock, run = item % perBlock;
      const int64_t u0 = block * kTileUnits, tileUnits = (u0 + kTileUnits < units ? u0 + kTileUnits : units) - u0;
      const int64_t firstChunk = run * chunks / perBlock, endChunk = (run + 1) * chunks / perBlock;
      float* partial = partials + partialFloats * item;
      double sum = 0;
#if defined(FEATX_FUSED_PASSES)
      if (fused) {
        if (forward.input) std::memset(partial, 0, sizeof(float) * tileUnits * forward.rows);
        for (int64_t c = firstChunk; c < endChunk; c++) {
          const int64_t c0 = c * chunk, columns = (c0 + chunk < inputs ? c0 + chunk : inputs) - c0;
          // The chunk's columns of both inputs, packed: rows `inputs` apart alias in L1 (4 KB apart, and
          // the tutorial's 100,352 inputs are a multiple of 2,048), so read in place they come from L2.
          float* x = g + chunk * rowsPadded;
          if (forward.input) transposeColumns(forward.input, forward.rows, inputs, c0, columns, rowsPadded, g);
          if (update.kind != Update::kNone)
            for (int64_t r = 0; r < update.rows; r++) std::memcpy(x + r * columns, update.input + r * inputs + c0, sizeof(float) * columns);
          const int64_t nextC0 = c + 1 < endChunk ? c0 + chunk : -1, nextColumns = nextC0 < 0 ? 0 : (nextC0 + chunk < inputs ? chunk : inputs - nextC0);
          fusedChunkOf(update, forward, inputs, u0, tileUnits, c0, columns, x, g, rowsPadded, partial, sum, nextC0, nextColumns);
          if (forward.keep && block == 0)
            for (int64_t r = 0; r < forward.rows; r++) std::memcpy(forward.keep + r * inputs + c0, forward.input + r * inputs + c0, sizeof(float) * columns);
        }
        sums[item] = sum;
        continue;
      }
#endif
      for (int64_t c = firstChunk; c < endChunk; c++) {
        const int64_t c0 = c * chunk, columns = (c0 + chunk < inputs ? c0 + chunk : inputs) - c0;
        const int64_t offset = u0 * inputs + c0;
        float* w = kernel + offset;
        const float* dz = update.dzT + u0 * update.rows;
        // Σw² of the weights the forward uses, row by row with the same function wherever it is
        // taken (so a forward's penalty does not depend on where the update ran): right after the
        // row's update while the row is in L1, or from L2 where the update ends in a GEMM or there
        // is none.
        const bool squares = forward.input && forward.squares;
        bool summed = false;
        if (update.kind == Update::kSgd && update.velocity) {
          float* v = update.velocity + offset;
          failed |= dnnl_sgemm('N', 'N', tileUnits, columns, update.rows, 1.0f, dz, update.rows, update.input + c0, inputs, update.momentum, v, inputs) != dnnl_success;
          for (int64_t u = 0; u < tileUnits; u++) {
            sgdMomentumRow(w + u * inputs, v + u * inputs, columns, update.decay);
            if (squares) sum += sumSquares(w + u * inputs, columns);
          }
          summed = true;
        } else if (update.kind == Update::kSgd) {
          if (update.decay != 0)
            for (int64_t u = 0; u < tileUnits; u++) sgdDecayRow(w + u * inputs, columns, update.decay);
          failed |= dnnl_sgemm('N', 'N', tileUnits, columns, update.rows, 1.0f, dz, update.rows, update.input + c0, inputs, 1.0f, w, inputs) != dnnl_success;
        } else if (update.kind == Update::kAdam) {
          failed |= dnnl_sgemm('N', 'N', tileUnits, columns, update.rows, 1.0f, dz, update.rows, update.input + c0, inputs, 0.0f, g, columns) != dnnl_success;
          for (int64_t u = 0; u < tileUnits; u++) {
            const int64_t row = offset + u * inputs;
            adamRow(kernel + row, update.m + row, update.v + row, g + u * columns, columns, update.adam);
            if (squares) sum += sumSquares(kernel + row, columns);
          }
          summed = true;
        }
        if (!forward.input) continue;
        if (squares && !summed)
          for (int64_t u = 0; u < tileUnits; u++) sum += sumSquares(w + u * inputs, columns);
        failed |= dnnl_sgemm('N', 'T', tileUnits, forward.rows, columns, 1.0f, w, inputs, forward.input + c0, inputs, c == firstChunk ? 0.0f : 1.0f, partial,
                             forward.rows) != dnnl_success;
        if (forward.keep && block == 0)
          for (int64_t r = 0; r < forward.rows; r++) std::memcpy(forward.keep + r * inputs + c0, forward.input + r * inputs + c0, sizeof(float) * columns);
      }
      sums[item] = sum;
    }
  }
  if (failed) {
    error = "oneDNN sgemm failed";
    return false;
  }
  squares = 0;
  for (int64_t item = 0; item < items; item++) squares += sums[item];
  if (forward.input) {
    for (int64_t block = 0; block < unitBlocks; block++) {
      const int64_t u0 = block * kTileUnits, tileUnits = (u0 + kTileUnits < units ? u0 + kTileUnits : units) - u0;
      float* out = forward.zT + u0 * forward.rows;
      const int64_t count = tileUnits * forward.rows;
      std::memcpy(out, partials + partialFloats * block * perBlock, sizeof(float) * count);
      for (int64_t run = 1; run < perBlock; run++) {
        const float* partial = partials + partialFloats * (block * perBlock + run);
        for (int64_t i = 0; i < count; i++) out[i] += partial[i];
      }
    }
  }
  return true;
}

/**
 * The forward argument of kernelForward and the updates: { input, rows, zT, squares, keep? }, the
 * forward to run with the (updated) weights. Checked against the kernel; the arrays the call writes
 * (`written`: kernel, slots) and the ones it reads (`read`: the update's dzT and input) may not
 * overlap what the forward writes (zT, keep).
 */
bool forwardArgument(Call& call, size_t index, int64_t units, int64_t inputs, bool nullable, Forward& out, std::initializer_list<const FloatArray*> written,
                     std::initializer_list<const FloatArray*> read) {
  napi_value value = call.argv[index];
  napi_valuetype kind;
  napi_typeof(call.env, value, &kind);
  if (nullable && (kind == napi_null || kind == napi_undefined)) return true;
  if (kind != napi_object) return call.typeError(std::string("forward must be an object { input, rows, zT, squares, keep? }") + (nullable ? " or null" : ""));
  constexpr int kFields = 5;
  napi_value fields[kFields];
  const char* names[kFields] = {"input", "rows", "zT", "squares", "keep"};
  for (int i = 0; i < kFields; i++)
    if (napi_get_named_property(call.env, value, names[i], &fields[i]) != napi_ok) return call.typeError(std::string("cannot read forward.") + names[i]);
  Call fieldCall = call;
  for (int i = 0; i < kFields; i++) fieldCall.argv[i] = fields[i];
  FloatArray input, zT, keep;
  int64_t rows;
  bool squares;
  if (!floatArray(fieldCall, 0, "forward.input", input) || !integer(fieldCall, 1, "forward.rows", 1, rows) || !floatArray(fieldCall, 2, "forward.zT", zT) ||
      !boolean(fieldCall, 3, "forward.squares", squares) || !floatArray(fieldCall, 4, "forward.keep", keep, true) ||
      !sized(call, input, rows * inputs, "rows × inputs = " + std::to_string(rows) + " × " + std::to_string(inputs)) ||
      !sized(call, zT, units * rows, "units × rows = " + std::to_string(units) + " × " + std::to_string(rows)) || !disjoint(call, zT, input))
    return false;
  if (keep.present() && (!sized(call, keep, rows * inputs, "as many as forward.input") || !disjoint(call, keep, input) || !disjoint(call, keep, zT)))
    return false;
  for (const FloatArray* array : written)
    if (!disjoint(call, *array, input) || !disjoint(call, zT, *array) || !disjoint(call, keep, *array)) return false;
  for (const FloatArray* array : read)
    if (!disjoint(call, zT, *array) || !disjoint(call, keep, *array)) return false;
  out = Forward{input.data, rows, zT.data, squares, keep.present() ? keep.data : nullptr};
  return true;
}

/** Checks shared by both updates: kernel, dzT, input against units, inputs, rows. */
bool checkUpdateShapes(Call& call, const FloatArray& kernel, const FloatArray& dzT, const FloatArray& input, int64_t units, int64_t inputs, int64_t rows) {
  return sized(call, kernel, units * inputs, "units × inputs = " + std::to_string(units) + " × " + std::to_string(inputs)) &&
         sized(call, dzT, units * rows, "units × rows = " + std::to_string(units) + " × " + std::to_string(rows)) &&
         sized(call, input, rows * inputs, "rows × inputs = " + std::to_string(rows) + " × " + std::to_string(inputs)) && disjoint(call, kernel, dzT) &&
         disjoint(call, kernel, input);
}

/** A kernel pass as checked from a call's arguments. */
struct PassArgs {
  float* kernel = nullptr;
  int64_t units = 0, inputs = 0, chunk = 0;
  Update update;
  Forward forward;
  double result(double squares) const { return forward.input && forward.squares ? squares : 0; }
};

napi_value passResult(Call& call, const PassArgs& args) {
  double squares = 0;
  std::string error;
  if (!kernelPass(args.kernel, args.units, args.inputs, args.chunk, args.update, args.forward, squares, error)) {
    napi_throw_error(call.env, nullptr, (std::string(call.function) + ": " + error).c_str());
    return nullptr;
  }
  return numberValue(call.env, args.result(squares));
}

// The *Async variants run the same pass on a libuv worker thread and return a promise of what the
// sync call returns (rejected with its error). Why: the trainer's step blocked its JavaScript thread
// for the whole pass, so reading and decoding the next batch waited for it; now they run beside it.
// The arrays are held by references until the promise settles; the caller must not touch them
// before (OnednnHead refuses other calls while a pass is out).
struct PassWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  std::vector<napi_ref> held;
  std::string function;
  PassArgs args;
  int threads = 1;
  double squares = 0;
  bool ok = false;
  std::string error;
};

void hold(napi_env env, napi_value value, PassWork& work) {
  napi_valuetype kind;
  napi_typeof(env, value, &kind);
  napi_ref ref;
  if (kind == napi_object && napi_create_reference(env, value, 1, &ref) == napi_ok) work.held.push_back(ref);
}

/** References to every array of the call: the typed arrays given, and forward's. */
void holdArguments(Call& call, PassWork& work) {
  for (size_t i = 0; i < call.argc; i++) {
    hold(call.env, call.argv[i], work);
    napi_valuetype kind;
    napi_typeof(call.env, call.argv[i], &kind);
    bool isTypedArray = false;
    napi_is_typedarray(call.env, call.argv[i], &isTypedArray);
    if (kind != napi_object || isTypedArray) continue;
    for (const char* field : {"input", "zT", "keep"}) {
      napi_value value;
      if (napi_get_named_property(call.env, call.argv[i], field, &value) == napi_ok) hold(call.env, value, work);
    }
  }
}

void runPassWork(napi_env, void* data) {
  PassWork* work = static_cast<PassWork*>(data);
  // OpenMP's thread count is per calling thread: the JavaScript thread's (setThreads) is carried over.
  omp_set_num_threads(work->threads);
  work->ok = kernelPass(work->args.kernel, work->args.units, work->args.inputs, work->args.chunk, work->args.update, work->args.forward, work->squares, work->error);
}

void settlePassWork(napi_env env, napi_status status, void* data) {
  std::unique_ptr<PassWork> work(static_cast<PassWork*>(data));
  for (napi_ref ref : work->held) napi_delete_reference(env, ref);
  napi_delete_async_work(env, work->work);
  if (status == napi_ok && work->ok) {
    napi_resolve_deferred(env, work->deferred, numberValue(env, work->args.result(work->squares)));
    return;
  }
  napi_value message, error;
  const std::string text = work->function + ": " + (status == napi_ok ? work->error : std::string("the pass was cancelled"));
  napi_create_string_utf8(env, text.c_str(), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, nullptr, message, &error);
  napi_reject_deferred(env, work->deferred, error);
}

napi_value queuePass(Call& call, const PassArgs& args) {
  std::unique_ptr<PassWork> work(new PassWork());
  work->function = call.function;
  work->args = args;
  work->threads = omp_get_max_threads();
  napi_value promise, name;
  if (napi_create_promise(call.env, &work->deferred, &promise) != napi_ok || napi_create_string_utf8(call.env, call.function, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(call.env, nullptr, name, runPassWork, settlePassWork, work.get(), &work->work) != napi_ok) {
    napi_throw_error(call.env, nullptr, (std::string(call.function) + ": cannot queue the pass").c_str());
    return nullptr;
  }
  holdArguments(call, *work);
  if (napi_queue_async_work(call.env, work->work) != napi_ok) {
    for (napi_ref ref : work->held) napi_delete_reference(call.env, ref);
    napi_delete_async_work(call.env, work->work);
    napi_throw_error(call.env, nullptr, (std::string(call.function) + ": cannot queue the pass").c_str());
    return nullptr;
  }
  work.release();
  return promise;
}

template <bool (*Parse)(Call&, PassArgs&)>
napi_value passEntry(Call& call, bool async) {
  PassArgs args;
  if (!Parse(call, args)) return nullptr;
  return async ? queuePass(call, args) : passResult(call, args);
}

// kernelForward(kernel, units, inputs, chunk, forward) → Σ w² (0 unless forward.squares):
// forward.zT [units, rows] = kernel·forward.inputᵀ, in the tiles and order of the updates' forward
// (so a forward gives the same numbers whether an update ran in its pass or before it).
bool parseKernelForward(Call& call, PassArgs& out) {
  FloatArray kernel;
  int64_t units, inputs, chunk;
  Forward forward;
  if (!floatArray(call, 0, "kernel", kernel) || !integer(call, 1, "units", 1, units) || !integer(call, 2, "inputs", 1, inputs) ||
      !integer(call, 3, "chunk", 1, chunk) || !sized(call, kernel, units * inputs, "units × inputs = " + std::to_string(units) + " × " + std::to_string(inputs)) ||
      !forwardArgument(call, 4, units, inputs, false, forward, {&kernel}, {}))
    return false;
  out = PassArgs{kernel.data, units, inputs, chunk, Update{}, forward};
  return true;
}

// sgdKernelUpdate(kernel, velocity | null, dzT, input, units, inputs, rows, momentum, kernelDecay,
// chunk, forward | null) → Σ w² of the updated weights (0 unless forward.squares).
// dzT carries −lr_t (and class weights, 1/rows) already. With velocity: v = m·v + g' + decay·w,
// w += v (Keras). Without: w += g' + decay·w. kernelDecay = 2λ·(−lr_t) for an L2 penalty λ.
bool parseSgdKernelUpdate(Call& call, PassArgs& out) {
  FloatArray kernel, velocity, dzT, input;
  int64_t units, inputs, rows, chunk;
  double momentum, decay;
  if (!floatArray(call, 0, "kernel", kernel) || !floatArray(call, 1, "velocity", velocity, true) || !floatArray(call, 2, "dzT", dzT) ||
      !floatArray(call, 3, "input", input) || !integer(call, 4, "units", 1, units) || !integer(call, 5, "inputs", 1, inputs) ||
      !integer(call, 6, "rows", 1, rows) || !number(call, 7, "momentum", momentum) || !number(call, 8, "kernelDecay", decay) ||
      !integer(call, 9, "chunk", 1, chunk) || !checkUpdateShapes(call, kernel, dzT, input, units, inputs, rows))
    return false;
  const bool withVelocity = velocity.present();
  if (withVelocity && (!sized(call, velocity, units * inputs, "the kernel's size") || !disjoint(call, velocity, kernel) || !disjoint(call, velocity, dzT) ||
                       !disjoint(call, velocity, input)))
    return false;
  if (!withVelocity && momentum != 0) {
    call.rangeError("momentum " + std::to_string(momentum) + " needs a velocity array");
    return false;
  }
  Forward forward;
  if (!forwardArgument(call, 10, units, inputs, true, forward, {&kernel, &velocity}, {&dzT, &input})) return false;
  Update update;
  update.kind = Update::kSgd;
  update.dzT = dzT.data;
  update.input = input.data;
  update.rows = rows;
  update.velocity = withVelocity ? velocity.data : nullptr;
  update.momentum = static_cast<float>(momentum);
  update.decay = static_cast<float>(decay);
  out = PassArgs{kernel.data, units, inputs, chunk, update, forward};
  return true;
}

// adamKernelUpdate(kernel, m, v, dzT, input, units, inputs, rows, alpha, beta1, beta2, epsilon,
// kernelDecay, chunk, forward | null) → Σ w² of the updated weights (0 unless forward.squares).
// dzT carries class weights and 1/rows (Adam's gradient scale is 1); alpha = lr_t·√(1−β2ᵗ)/(1−β1ᵗ);
// kernelDecay = 2λ for an L2 penalty λ.
bool parseAdamKernelUpdate(Call& call, PassArgs& out) {
  FloatArray kernel, mSlot, vSlot, dzT, input;
  int64_t units, inputs, rows, chunk;
  double alpha, beta1, beta2, epsilon, decay;
  if (!floatArray(call, 0, "kernel", kernel) || !floatArray(call, 1, "m", mSlot) || !floatArray(call, 2, "v", vSlot) || !floatArray(call, 3, "dzT", dzT) ||
      !floatArray(call, 4, "input", input) || !integer(call, 5, "units", 1, units) || !integer(call, 6, "inputs", 1, inputs) ||
      !integer(call, 7, "rows", 1, rows) || !number(call, 8, "alpha", alpha) || !number(call, 9, "beta1", beta1) || !number(call, 10, "beta2", beta2) ||
      !number(call, 11, "epsilon", epsilon) || !number(call, 12, "kernelDecay", decay) || !integer(call, 13, "chunk", 1, chunk) ||
      !checkUpdateShapes(call, kernel, dzT, input, units, inputs, rows))
    return false;
  const std::string size = "the kernel's size";
  if (!sized(call, mSlot, units * inputs, size) || !sized(call, vSlot, units * inputs, size)) return false;
  for (const FloatArray* slot : {&mSlot, &vSlot})
    if (!disjoint(call, *slot, kernel) || !disjoint(call, *slot, dzT) || !disjoint(call, *slot, input)) return false;
  if (!disjoint(call, mSlot, vSlot)) return false;
  Forward forward;
  if (!forwardArgument(call, 14, units, inputs, true, forward, {&kernel, &mSlot, &vSlot}, {&dzT, &input})) return false;
  Update update;
  update.kind = Update::kAdam;
  update.dzT = dzT.data;
  update.input = input.data;
  update.rows = rows;
  update.m = mSlot.data;
  update.v = vSlot.data;
  update.adam = AdamConstants{static_cast<float>(alpha),        static_cast<float>(beta1),  static_cast<float>(1 - beta1), static_cast<float>(beta2),
                              static_cast<float>(1 - beta2), static_cast<float>(epsilon), static_cast<float>(decay)};
  out = PassArgs{kernel.data, units, inputs, chunk, update, forward};
  return true;
}

// The entry points of the three passes, each sync and async (same arguments; see PassWork).
#define FEATX_PASS_ENTRY(Name, name, argc, Parse, async)                       \
  napi_value Name(napi_env env, napi_callback_info info) {                     \
    Call call;                                                                 \
    if (!start(call, env, info, name, argc)) return nullptr;                   \
    return passEntry<Parse>(call, async);                                      \
  }
FEATX_PASS_ENTRY(KernelForward, "kernelForward", 5, parseKernelForward, false)
FEATX_PASS_ENTRY(KernelForwardAsync, "kernelForwardAsync", 5, parseKernelForward, true)
FEATX_PASS_ENTRY(SgdKernelUpdate, "sgdKernelUpdate", 11, parseSgdKernelUpdate, false)
FEATX_PASS_ENTRY(SgdKernelUpdateAsync, "sgdKernelUpdateAsync", 11, parseSgdKernelUpdate, true)
FEATX_PASS_ENTRY(AdamKernelUpdate, "adamKernelUpdate", 15, parseAdamKernelUpdate, false)
FEATX_PASS_ENTRY(AdamKernelUpdateAsync, "adamKernelUpdateAsync", 15, parseAdamKernelUpdate, true)
#undef FEATX_PASS_ENTRY

// axpy(alpha, x, y): y += α·x over the threads (the engine bench's memory bandwidth with this
// addon's threads and loops).
napi_value Axpy(napi_env env, napi_callback_info info) {
  Call call;
  if (!start(call, env, info, "axpy", 3)) return nullptr;
  double alpha;
  FloatArray x, y;
  if (!number(call, 0, "alpha", alpha) || !floatArray(call, 1, "x", x) || !floatArray(call, 2, "y", y) ||
      !sized(call, y, x.length, "as many as x") || !disjoint(call, y, x))
    return nullptr;
  constexpr int64_t kBlock = 1 << 16;
  const int64_t blocks = (x.length + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t j0 = b * kBlock;
    axpyRange(static_cast<float>(alpha), x.data + j0, y.data + j0, j0 + kBlock < x.length ? kBlock : x.length - j0);
  }
  return undefinedValue(env);
}

// float16ToFloat32(halves, out): IEEE half → float, exactly (every half is a float), with the CPU's
// F16C conversion where it has one: ~10x the JavaScript table decode of @featx/features, which was a
// fifth of the trainer's read path. @featx/features owns the format and keeps the reference decode;
// this is only registered there as a faster one (registerNativeFloat16Decoder).
__attribute__((target("avx,f16c"))) void halvesToFloatsF16c(const uint16_t* in, float* out, int64_t count) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  for (; i < count; i++) out[i] = _cvtsh_ss(in[i]);
}

float halfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000 | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalize into a float.
    uint32_t m = mantissa;
    int32_t e = 113;
    while ((m & 0x400) == 0) {
      m <<= 1;
      e--;
    }
    bits = sign | (static_cast<uint32_t>(e) << 23) | ((m & 0x3ff) << 13);
  }
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

napi_value Float16ToFloat32(napi_env env, napi_callback_info info) {
  Call call;
  if (!start(call, env, info, "float16ToFloat32", 2)) return nullptr;
  bool isTypedArray = false;
  napi_is_typedarray(env, call.argv[0], &isTypedArray);
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  if (isTypedArray && napi_get_typedarray_info(env, call.argv[0], &type, &length, &data, nullptr, nullptr) != napi_ok) isTypedArray = false;
  if (!isTypedArray || type != napi_uint16_array) {
    call.typeError("halves must be a Uint16Array");
    return nullptr;
  }
  FloatArray out;
  if (!floatArray(call, 1, "out", out)) return nullptr;
  const int64_t count = data == nullptr ? 0 : static_cast<int64_t>(length);
  if (out.length != count) {
    call.rangeError("out holds " + std::to_string(out.length) + " values, halves " + std::to_string(count));
    return nullptr;
  }
  const uint16_t* in = static_cast<const uint16_t*>(data);
  static const bool f16c = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  if (f16c) {
    halvesToFloatsF16c(in, out.data, count);
  } else {
    for (int64_t i = 0; i < count; i++) out.data[i] = halfToFloat(in[i]);
  }
  return undefinedValue(env);
}

// ---------------------------------------------------------------------------------------------
// logisticObjective(features, rows, dim, labels, sampleWeights, kernelT, bias, scale,
// kernelGradient, biasGradient) → Σᵣ wᵣ·(−log pᵣ[labelᵣ]): the multinomial logistic loss of rows
// held in memory and its gradient, for the L-BFGS fit (../logistic-lbfgs.ts), in one pass over the
// rows: logits = X·Wᵀ + b, R = scale·w·(softmax − onehot), kernelGradient = Rᵀ·X,
// biasGradient = Σᵣ R. Why: as two oneDNN GEMMs with the softmax between them in JavaScript, an
// evaluation read X from memory twice (31 MB for clothing-small's mirrored pooled training rows) and
// took 13-14 ms; here each block of rows gets its logits, softmax and gradient while it is in cache.
//
// The rows are cut into parts fixed by the shape (not by the threads), each summed into its own
// gradient in row order and the parts added in order: the same results bit for bit whatever the
// threads.

/** Rows a block: its features stay in L2 between the logits and the gradient (≤ 192 KB, ≤ 48 rows). */
int64_t logisticBlockRows(int64_t dim) {
  const int64_t rows = (48 * 1024) / dim;
  return rows < 1 ? 1 : rows > 48 ? 48 : rows;
}

FEATX_CLONES float dotRange(const float* a, const float* b, int64_t count) {
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < count; j++) sum += a[j] * b[j];
  return sum;
}

/** logits[r·classes + c] = x_r·W_c for the block's rows (without the bias). */
void blockLogitsPortable(const LogisticProblem& p, const float* x, int64_t rows, float* logits) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < p.classes; c++) logits[r * p.classes + c] = dotRange(x + r * p.dim, p.kernelT + c * p.dim, p.dim);
}

/** g[c] += Σᵣ residuals[r·classes + c]·x_r for the block's rows. */
void blockGradientPortable(const LogisticProblem& p, const float* x, int64_t rows, const float* residuals, float* g) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < p.classes; c++) axpyRange(residuals[r * p.classes + c], x + r * p.dim, g + c * p.dim, p.dim);
}


/**
 * Rows [r0, r1): their loss summed into *loss, R summed into biasSum, Rᵀ·X into g (a part's own).
 * `logits` holds a block's rows × classes.
 */
void logisticPart(const LogisticProblem& p, int64_t r0, int64_t r1, KernelIsa isa, float* logits, float* g, double* biasSum, double* loss) {
  const int64_t block = logisticBlockRows(p.dim), classes = p.classes;
  for (int64_t b0 = r0; b0 < r1; b0 += block) {
    const int64_t rows = b0 + block < r1 ? block : r1 - b0;
    const float* x = p.x + b0 * p.dim;
    switch (isa) {
#if defined(FEATX_FUSED_PASSES)
      case KernelIsa::kAvx512: avx512::blockLogits(p, x, rows, logits); break;
      case KernelIsa::kAvx2: avx2::blockLogits(p, x, rows, logits); break;
#endif
      default: blockLogitsPortable(p, x, rows, logits); break;
    }
    for (int64_t r = 0; r < rows; r++) {
      float* z = logits + r * classes;
      float max = -INFINITY;
      for (int64_t c = 0; c < classes; c++) {
        z[c] += p.bias[c];
        if (z[c] > max) max = z[c];
      }
      double sum = 0;
      for (int64_t c = 0; c < classes; c++) sum += std::exp(static_cast<double>(z[c] - max));
      const int32_t label = p.labels[b0 + r];
      const double weight = p.weights ? p.weights[b0 + r] : 1.0;
      *loss += weight * (static_cast<double>(max) + std::log(sum) - static_cast<double>(z[label]));
      // z becomes the row's residuals: scale·w·(softmax − onehot)
      const double factor = weight * p.scale / sum;
      for (int64_t c = 0; c < classes; c++) z[c] = static_cast<float>(factor * std::exp(static_cast<double>(z[c] - max)));
      z[label] -= static_cast<float>(weight * p.scale);
      for (int64_t c = 0; c < classes; c++) biasSum[c] += z[c];
    }
    switch (isa) {
#if defined(FEATX_FUSED_PASSES)
      case KernelIsa::kAvx512: avx512::blockGradient(p, x, rows, logits, g); break;
      case KernelIsa::kAvx2: avx2::blockGradient(p, x, rows, logits, g); break;
#endif
      default: blockGradientPortable(p, x, rows, logits, g); break;
    }
  }
}

bool int32Array(Call& call, size_t index, const char* name, const int32_t*& data, int64_t& length) {
  bool isTypedArray = false;
  napi_is_typedarray(call.env, call.argv[index], &isTypedArray);
  napi_typedarray_type type = napi_int8_array;
  size_t count = 0;
  void* memory = nullptr;
  if (isTypedArray && napi_get_typedarray_info(call.env, call.argv[index], &type, &count, &memory, nullptr, nullptr) != napi_ok) isTypedArray = false;
  if (!isTypedArray || type != napi_int32_array) return call.typeError(std::string(name) + " must be an Int32Array");
  data = static_cast<const int32_t*>(memory);
  length = memory == nullptr ? 0 : static_cast<int64_t>(count);
  return true;
}

/** Gradient parts: at most 8, and at most 64 MB of them (the first is kernelGradient itself). */
int64_t logisticParts(int64_t rows, int64_t dim, int64_t classes) {
  const int64_t blocks = (rows + logisticBlockRows(dim) - 1) / logisticBlockRows(dim);
  int64_t parts = (int64_t{64} << 20) / (classes * dim * static_cast<int64_t>(sizeof(float)));
  if (parts > 8) parts = 8;
  if (parts > blocks) parts = blocks;
  return parts < 1 ? 1 : parts;
}

napi_value LogisticObjective(napi_env env, napi_callback_info info) {
  Call call;
  if (!start(call, env, info, "logisticObjective", 10)) return nullptr;
  FloatArray features, weights, kernelT, bias, kernelGradient, biasGradient;
  int64_t rows, dim, labelCount;
  const int32_t* labels = nullptr;
  double scale;
  if (!floatArray(call, 0, "features", features) || !integer(call, 1, "rows", 1, rows) || !integer(call, 2, "dim", 1, dim) ||
      !int32Array(call, 3, "labels", labels, labelCount) || !floatArray(call, 4, "sampleWeights", weights, true) || !floatArray(call, 5, "kernelT", kernelT) ||
      !floatArray(call, 6, "bias", bias) || !number(call, 7, "scale", scale) || !floatArray(call, 8, "kernelGradient", kernelGradient) ||
      !floatArray(call, 9, "biasGradient", biasGradient))
    return nullptr;
  const int64_t classes = bias.length;
  if (classes < 1) {
    call.rangeError("bias must hold one value a class, got none");
    return nullptr;
  }
  if (!holds(call, features, rows * dim, "rows × dim") || !sized(call, kernelT, classes * dim, "classes × dim, classes = bias.length") ||
      !sized(call, kernelGradient, classes * dim, "classes × dim") || !sized(call, biasGradient, classes, "one a class") ||
      (weights.present() && !holds(call, weights, rows, "one a row")))
    return nullptr;
  if (labelCount < rows) {
    call.rangeError("labels holds " + std::to_string(labelCount) + " values, needs " + std::to_string(rows) + " (one a row)");
    return nullptr;
  }
  for (int64_t r = 0; r < rows; r++)
    if (labels[r] < 0 || labels[r] >= classes) {
      call.rangeError("label " + std::to_string(labels[r]) + " of row " + std::to_string(r) + " is outside [0, " + std::to_string(classes) + ")");
      return nullptr;
    }
  for (const FloatArray* written : {&kernelGradient, &biasGradient})
    for (const FloatArray* read : {&features, &weights, &kernelT, &bias})
      if (!disjoint(call, *written, *read)) return nullptr;
  if (!disjoint(call, kernelGradient, biasGradient)) return nullptr;

  const LogisticProblem problem{features.data, rows, dim, classes, labels, weights.present() ? weights.data : nullptr, kernelT.data, bias.data, static_cast<float>(scale)};
  const int64_t parts = logisticParts(rows, dim, classes), block = logisticBlockRows(dim);
  const int64_t size = classes * dim;
  float* partials = parts > 1 ? static_cast<float*>(scratch.get(sizeof(float) * size * (parts - 1))) : nullptr;
  if (parts > 1 && !partials) {
    napi_throw_error(env, nullptr, "logisticObjective: out of memory for the gradient parts");
    return nullptr;
  }
  std::vector<double> losses(parts, 0.0), biasSums(parts * classes, 0.0);
  const KernelIsa isa = kernelIsa();
  const bool parallel = parts > 1 && rows * size >= kParallelMultiplyAdds;
  FlushDenormals flush;
  ScopedThreads team(parallel ? omp_get_max_threads() : 1);
#pragma omp parallel num_threads(parallel ? omp_get_max_threads() : 1) if (parallel)
  {
    FlushDenormals flushHere;
    std::vector<float> logits(block * classes);
#pragma omp for schedule(dynamic, 1)
    for (int64_t part = 0; part < parts; part++) {
      float* g = part == 0 ? kernelGradient.data : partials + (part - 1) * size;
      std::memset(g, 0, sizeof(float) * size);
      logisticPart(problem, rows * part / parts, rows * (part + 1) / parts, isa, logits.data(), g, biasSums.data() + part * classes, &losses[part]);
    }
  }
  for (int64_t part = 1; part < parts; part++) axpyRange(1.0f, partials + (part - 1) * size, kernelGradient.data, size);
  double loss = 0;
  for (int64_t part = 0; part < parts; part++) loss += losses[part];
  for (int64_t c = 0; c < classes; c++) {
    double sum = 0;
    for (int64_t part = 0; part < parts; part++) sum += biasSums[part * classes + c];
    biasGradient.data[c] = static_cast<float>(sum);
  }
  return numberValue(env, loss);
}

// setThreads(n): the OpenMP threads of later calls (this JavaScript thread's); threads(): them.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  Call call;
  if (!start(call, env, info, "setThreads", 1)) return nullptr;
  int64_t threads;
  if (!integer(call, 0, "threads", 1, threads)) return nullptr;
  if (threads > 1024) {
    call.rangeError("threads must be ≤ 1024, got " + std::to_string(threads));
    return nullptr;
  }
  omp_set_num_threads(static_cast<int>(threads));
  return undefinedValue(env);
}

napi_value Threads(napi_env env, napi_callback_info info) {
  Call call;
  if (!start(call, env, info, "threads", 0)) return nullptr;
  return numberValue(env, omp_get_max_threads());
}

// setFusedPasses(on) → whether the passes now take the fused path (false where the CPU has neither
// AVX-512 nor AVX2 with FMA, whatever `on`); off, logisticObjective takes its portable loops too.
// For the engine bench's A/B and the tests; the default is on.
napi_value SetFusedPasses(napi_env env, napi_callback_info info) {
  Call call;
  if (!start(call, env, info, "setFusedPasses", 1)) return nullptr;
  bool on;
  if (!boolean(call, 0, "on", on)) return nullptr;
  kernelsWanted.store(static_cast<int>(on ? KernelIsa::kAvx512 : KernelIsa::kPortable));
  napi_value result;
  napi_get_boolean(env, fusedPasses(), &result);
  return result;
}

// setKernels('avx512' | 'avx2' | 'portable') → the kernels now in use: the widest of those asked for
// that the CPU has ('portable': oneDNN's passes, portable loops). For the tests, so that a CPU with
// AVX-512 checks the AVX2 kernels too; setFusedPasses(true) goes back to the CPU's widest.
napi_value SetKernels(napi_env env, napi_callback_info info) {
  Call call;
  if (!start(call, env, info, "setKernels", 1)) return nullptr;
  std::string name;
  if (!string(call, 0, "kernels", name)) return nullptr;
  KernelIsa wanted;
  if (name == "avx512") wanted = KernelIsa::kAvx512;
  else if (name == "avx2") wanted = KernelIsa::kAvx2;
  else if (name == "portable") wanted = KernelIsa::kPortable;
  else {
    call.rangeError("kernels must be 'avx512', 'avx2' or 'portable', got '" + name + "'");
    return nullptr;
  }
  kernelsWanted.store(static_cast<int>(wanted));
  napi_value result;
  napi_create_string_utf8(env, kernelIsaName(kernelIsa()), NAPI_AUTO_LENGTH, &result);
  return result;
}

// info(): { onednn: 'major.minor.patch', isa: the oneDNN ISA code it dispatches to, fusedPasses:
// whether the kernel passes take the fused path, kernels: the ISA of the fused passes and of
// logisticObjective's blocks, 'avx512', 'avx2' or 'portable' (oneDNN's passes, portable loops),
// fusedChunkColumns: the fused pass's column chunk in those kernels (0 without them) }
napi_value Info(napi_env env, napi_callback_info info) {
  Call call;
  if (!start(call, env, info, "info", 0)) return nullptr;
  const dnnl_version_t* version = dnnl_version();
  const std::string text = std::to_string(version->major) + "." + std::to_string(version->minor) + "." + std::to_string(version->patch);
  napi_value result, onednn, isa;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, text.c_str(), text.size(), &onednn);
  napi_create_int32(env, static_cast<int32_t>(dnnl_get_effective_cpu_isa()), &isa);
  napi_set_named_property(env, result, "onednn", onednn);
  napi_set_named_property(env, result, "isa", isa);
  napi_value fused;
  napi_get_boolean(env, fusedPasses(), &fused);
  napi_set_named_property(env, result, "fusedPasses", fused);
  napi_value kernels;
  napi_create_string_utf8(env, kernelIsaName(kernelIsa()), NAPI_AUTO_LENGTH, &kernels);
  napi_set_named_property(env, result, "kernels", kernels);
  napi_value chunk;
  napi_create_int64(env, fusedChunkColumns(kernelIsa()), &chunk);
  napi_set_named_property(env, result, "fusedChunkColumns", chunk);
  return result;
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor functions[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"kernelForward", nullptr, KernelForward, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sgdKernelUpdate", nullptr, SgdKernelUpdate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adamKernelUpdate", nullptr, AdamKernelUpdate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"kernelForwardAsync", nullptr, KernelForwardAsync, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sgdKernelUpdateAsync", nullptr, SgdKernelUpdateAsync, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adamKernelUpdateAsync", nullptr, AdamKernelUpdateAsync, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"logisticObjective", nullptr, LogisticObjective, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"axpy", nullptr, Axpy, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"float16ToFloat32", nullptr, Float16ToFloat32, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setFusedPasses", nullptr, SetFusedPasses, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setKernels", nullptr, SetKernels, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}
