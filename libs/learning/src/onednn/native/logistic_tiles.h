// The logistic objective's vectorized blocks (featx_dense.cc, logisticObjective), written once over
// `Lanes`: a vector of floats, its tail mask and its operations, and the tile sizes that keep the
// accumulators in that ISA's registers. Included by isa_kernels.h, once per ISA (see there), so
// the same text compiles to AVX-512 and to AVX2 with FMA code. No include guard, for that reason.

/** f(std::integral_constant<int, n>{}) for n = min(count, Max) ≥ 1: a tile's size as a template argument. */
template <int Max, typename F>
inline void withTile(int64_t count, F&& f) {
  if constexpr (Max > 1) {
    if (count < Max) return withTile<Max - 1>(count, f);
  }
  f(std::integral_constant<int, Max>{});
}

/**
 * out[r·classes + c] = x_r·W_c for R rows (`dim` apart) × T classes (rows of w, `dim` apart): each
 * vector of x and of W loaded once for the R·T products (a W tile of 4 classes of pooled features,
 * 20 KB, stays in L1 over the block's rows).
 */
template <int R, int T>
void logitsTile(const float* x, int64_t dim, const float* w, int64_t classes, float* out) {
  Vector acc[R * T];
#pragma GCC unroll 16
  for (int i = 0; i < R * T; i++) acc[i] = Lanes::zero();
  for (int64_t d = 0; d < dim; d += kWidth) {
    const Mask m = Lanes::tail(dim - d);
    Vector xv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) xv[r] = Lanes::load(x + r * dim + d, m);
#pragma GCC unroll 4
    for (int c = 0; c < T; c++) {
      const Vector wv = Lanes::load(w + c * dim + d, m);
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) acc[r * T + c] = Lanes::fmadd(xv[r], wv, acc[r * T + c]);
    }
  }
  // Sums of the lanes, stored: the accumulators stay in registers through the loop above (a lane
  // sum read from the array kept GCC storing every accumulator to the stack each iteration).
  alignas(64) float lanes[R * T][kWidth];
#pragma GCC unroll 16
  for (int i = 0; i < R * T; i++) Lanes::storeAligned(lanes[i], acc[i]);
  for (int r = 0; r < R; r++)
    for (int c = 0; c < T; c++) {
      float sum = 0;
      for (int l = 0; l < kWidth; l++) sum += lanes[r * T + c][l];
      out[r * classes + c] = sum;
    }
}

/** g_c += Σᵣ residuals[r·classes + c]·x_r for T classes, a vector of columns at a time held in registers over the rows. */
template <int T>
void gradientTile(const float* x, int64_t rows, int64_t dim, const float* residuals, int64_t classes, float* g) {
  for (int64_t d = 0; d < dim; d += kWidth) {
    const Mask m = Lanes::tail(dim - d);
    Vector acc[T];
    for (int c = 0; c < T; c++) acc[c] = Lanes::load(g + c * dim + d, m);
    for (int64_t r = 0; r < rows; r++) {
      const Vector xv = Lanes::load(x + r * dim + d, m);
      const float* rr = residuals + r * classes;
      for (int c = 0; c < T; c++) acc[c] = Lanes::fmadd(Lanes::broadcast(rr[c]), xv, acc[c]);
    }
    for (int c = 0; c < T; c++) Lanes::store(g + c * dim + d, m, acc[c]);
  }
}

/** logits[r·classes + c] = x_r·W_c for the block's rows (without the bias), tile by tile. */
void blockLogits(const LogisticProblem& p, const float* x, int64_t rows, float* logits) {
  for (int64_t c0 = 0; c0 < p.classes; c0 += Lanes::kClassTile)
    for (int64_t r0 = 0; r0 < rows; r0 += Lanes::kRowTile)
      withTile<Lanes::kRowTile>(rows - r0, [&](auto r) {
        withTile<Lanes::kClassTile>(p.classes - c0, [&](auto c) {
          logitsTile<decltype(r)::value, decltype(c)::value>(x + r0 * p.dim, p.dim, p.kernelT + c0 * p.dim, p.classes, logits + r0 * p.classes + c0);
        });
      });
}

/** g[c] += Σᵣ residuals[r·classes + c]·x_r for the block's rows, 8 classes at a time. */
void blockGradient(const LogisticProblem& p, const float* x, int64_t rows, const float* residuals, float* g) {
  constexpr int kGradientClassTile = 8;
  for (int64_t c0 = 0; c0 < p.classes; c0 += kGradientClassTile)
    withTile<kGradientClassTile>(p.classes - c0, [&](auto c) { gradientTile<decltype(c)::value>(x, rows, p.dim, residuals + c0, p.classes, g + c0 * p.dim); });
}
