// The fused kernel passes' register blocks (featx_dense.cc, "Fused passes"), written once over
// `Lanes`: a vector of floats, its tail mask, its operations and the block sizes that keep the
// accumulators in that ISA's registers. Included by isa_kernels.h, once per ISA (see there), so
// the same text compiles to AVX-512 and to AVX2 with FMA code. No include guard, for that reason.
//
// Sizes in vectors (Lanes::kWidth floats each): the update's register block is kFusedUnits units ×
// Lanes::kUpdateVectors vectors of columns; the forward's, Lanes::kForwardUnits units ×
// Lanes::kForwardRowVectors vectors of rows, in Lanes::kForwardSets sets of accumulators (columns
// dealt round-robin: one set alone is fewer chains of the FMA's latency than its units keep in flight).

/** Floats a cache line: the prefetches' step. */
constexpr int64_t kLineFloats = 16;

/**
 * The update of U units × N vectors of columns at w (weights, leading dimension ld; the slots at the
 * same offsets): gradient g = dZᵀ[u, ·]·input[·, columns] in registers, then the optimizer, as the
 * oneDNN pass's formulas. Masked: only the last vector's `mask` lanes are read and written.
 */
template <int U, int N, FusedKind Kind, bool Masked>
inline void fusedUpdateBlock(const Update& up, int64_t ld, int64_t xld, int64_t offset, const float* dz, const float* x, Mask mask, int64_t aheadUnits,
                             int64_t nextChunk) {
  // The update's loads are the only ones from memory, and a miss there stalls the next block's FMAs
  // behind it. So the same columns of the units `aheadUnits` on come towards L1, and these units'
  // columns of the next chunk (`nextChunk` columns on, 0: none) into L2, a whole chunk's sweep
  // ahead (256 units × 1 KB of weights and velocity fit there): ~10% off the SGD pass (A/B).
  for (const float* array : {static_cast<const float*>(up.kernel), static_cast<const float*>(up.velocity), static_cast<const float*>(up.m),
                             static_cast<const float*>(up.v)}) {
    if (!array) continue;
    for (int u = 0; u < U; u++)
      for (int64_t n = 0; n < N * kWidth; n += kLineFloats) {
        const float* at = array + offset + u * ld + n;
        if (aheadUnits > 0) _mm_prefetch(reinterpret_cast<const char*>(at + aheadUnits * ld), _MM_HINT_T0);
        if (nextChunk > 0) _mm_prefetch(reinterpret_cast<const char*>(at + nextChunk), _MM_HINT_T1);
      }
  }
  Vector g[U][N];
  for (int u = 0; u < U; u++)
    for (int n = 0; n < N; n++) g[u][n] = Lanes::zero();
  for (int64_t r = 0; r < up.rows; r++) {
    Vector xv[N];
    for (int n = 0; n < N; n++)
      xv[n] = Lanes::inRegister(Masked && n == N - 1 ? Lanes::load(x + r * xld + kWidth * n, mask) : Lanes::loadWhole(x + r * xld + kWidth * n));
    for (int u = 0; u < U; u++) {
      const Vector d = Lanes::broadcast(dz[u * up.rows + r]);
      for (int n = 0; n < N; n++) g[u][n] = Lanes::fmadd(d, xv[n], g[u][n]);
    }
  }
  // The call's values in locals: stores through the float pointers could alias `up` for the compiler.
  float* const kernel = up.kernel;
  float* const first = Kind == kFusedMomentum ? up.velocity : up.m;
  float* const second = up.v;
  const bool decayed = (Kind == kFusedAdam ? up.adam.decay : up.decay) != 0;
  const Vector decay = Lanes::broadcast(Kind == kFusedAdam ? up.adam.decay : up.decay);
  const Vector momentum = Lanes::broadcast(up.momentum);
  const AdamConstants c = up.adam;
  for (int u = 0; u < U; u++) {
    for (int n = 0; n < N; n++) {
      const int64_t at = offset + u * ld + kWidth * n;
      const Mask lanes = Masked && n == N - 1 ? mask : Lanes::whole();
      const Vector w = Lanes::load(kernel + at, lanes);
      Vector next;
      if (Kind == kFusedMomentum) {
        // v = m·v + g' (+ decay·w); w += v.
        Vector v = Lanes::fmadd(momentum, Lanes::load(first + at, lanes), g[u][n]);
        if (decayed) v = Lanes::fmadd(decay, w, v);
        Lanes::store(first + at, lanes, v);
        next = Lanes::add(w, v);
      } else if (Kind == kFusedSgd) {
        // w += decay·w, then w += g'.
        next = Lanes::add(decayed ? Lanes::fmadd(decay, w, w) : w, g[u][n]);
      } else {
        const Vector gradient = Lanes::fmadd(decay, w, g[u][n]);
        const Vector m = Lanes::fmadd(Lanes::load(first + at, lanes), Lanes::broadcast(c.beta1), Lanes::mul(gradient, Lanes::broadcast(c.oneMinusBeta1)));
        const Vector v = Lanes::fmadd(Lanes::load(second + at, lanes), Lanes::broadcast(c.beta2),
                                      Lanes::mul(Lanes::mul(gradient, gradient), Lanes::broadcast(c.oneMinusBeta2)));
        Lanes::store(first + at, lanes, m);
        Lanes::store(second + at, lanes, v);
        // m / d as m·(1/d), 1/d by the reciprocal's estimate and one Newton step (≈ 1 ulp from
        // AVX-512's 14-bit estimate, ≈ 2⁻²² from AVX's 12-bit one): the divider, which the square
        // root needs too, is the Adam pass's bottleneck in cache (~24 cycles a vector).
        const Vector d = Lanes::add(Lanes::sqrt(v), Lanes::broadcast(c.epsilon));
        const Vector estimate = Lanes::reciprocalEstimate(d);
        const Vector inverse = Lanes::mul(estimate, Lanes::fnmadd(d, estimate, Lanes::broadcast(2.0f)));
        const Vector step = Lanes::mul(m, inverse);
        next = Lanes::fnmadd(step, Lanes::broadcast(c.alpha), w);
      }
      Lanes::store(kernel + at, lanes, next);
    }
  }
}

/** The update of U units × `columns` columns from column c0: blocks of kUpdateVectors vectors, then one at a time (the last masked). */
template <int U, FusedKind Kind>
void fusedUpdate(const Update& up, int64_t ld, int64_t u0, int64_t c0, int64_t columns, const float* x, int64_t aheadUnits, int64_t nextChunk) {
  constexpr int N = Lanes::kUpdateVectors;
  const float* dz = up.dzT + u0 * up.rows;
  int64_t c = 0;
  for (; c + N * kWidth <= columns; c += N * kWidth)
    fusedUpdateBlock<U, N, Kind, false>(up, ld, columns, u0 * ld + c0 + c, dz, x + c, Lanes::whole(), aheadUnits, nextChunk);
  for (; c + kWidth <= columns; c += kWidth) fusedUpdateBlock<U, 1, Kind, false>(up, ld, columns, u0 * ld + c0 + c, dz, x + c, Lanes::whole(), aheadUnits, nextChunk);
  if (c < columns) fusedUpdateBlock<U, 1, Kind, true>(up, ld, columns, u0 * ld + c0 + c, dz, x + c, Lanes::tail(columns - c), aheadUnits, nextChunk);
}

/**
 * partial[u, rows] += w[u, columns]·xT[columns, rows] for U units: per V vectors of rows,
 * accumulators in registers over the columns in order (weights broadcast from L1).
 */
template <int U, int V>
void fusedForwardRows(const float* w, int64_t ld, int64_t columns, const float* xT, int64_t rowsPadded, int64_t r0, int64_t rows, float* partial) {
  constexpr int S = Lanes::kForwardSets;
  Vector acc[S][U][V];
  for (int e = 0; e < S; e++)
    for (int u = 0; u < U; u++)
      for (int k = 0; k < V; k++) acc[e][u][k] = Lanes::zero();
  auto column = [&](int e, int64_t c) {
    Vector xv[V];
    for (int k = 0; k < V; k++) xv[k] = Lanes::inRegister(Lanes::loadWhole(xT + c * rowsPadded + r0 + kWidth * k));
    for (int u = 0; u < U; u++) {
      const Vector b = Lanes::broadcast(w[u * ld + c]);
      for (int k = 0; k < V; k++) acc[e][u][k] = Lanes::fmadd(b, xv[k], acc[e][u][k]);
    }
  };
  int64_t c = 0;
  for (; c + S <= columns; c += S)
    for (int e = 0; e < S; e++) column(e, c + e);
  for (; c < columns; c++) column(0, c);
  for (int u = 0; u < U; u++)
    for (int k = 0; k < V; k++) {
      float* out = partial + u * rows + r0 + kWidth * k;
      const Mask lanes = Lanes::tail(rows - r0 - kWidth * k);  // none past the rows (rowsPadded may hold a whole vector more)
      Vector sum = acc[0][u][k];
      for (int e = 1; e < S; e++) sum = Lanes::add(sum, acc[e][u][k]);
      Lanes::store(out, lanes, Lanes::add(Lanes::load(out, lanes), sum));
    }
}

template <int U>
void fusedForward(const float* w, int64_t ld, int64_t columns, const float* xT, int64_t rowsPadded, int64_t rows, float* partial) {
  if constexpr (U > Lanes::kForwardUnits) {
    fusedForward<Lanes::kForwardUnits>(w, ld, columns, xT, rowsPadded, rows, partial);
    fusedForward<U - Lanes::kForwardUnits>(w + Lanes::kForwardUnits * ld, ld, columns, xT, rowsPadded, rows, partial + Lanes::kForwardUnits * rows);
  } else {
    constexpr int V = Lanes::kForwardRowVectors;
    int64_t r0 = 0;
    for (; r0 + V * kWidth <= rowsPadded; r0 += V * kWidth) fusedForwardRows<U, V>(w, ld, columns, xT, rowsPadded, r0, rows, partial);
    for (; r0 < rowsPadded; r0 += kWidth) fusedForwardRows<U, 1>(w, ld, columns, xT, rowsPadded, r0, rows, partial);
  }
}

/** Σw² of U units × `columns` columns: a float per lane over the block, returned as the float sum of the lanes. */
template <int U>
float fusedSquares(const float* w, int64_t ld, int64_t columns) {
  Vector sum = Lanes::zero();
  for (int u = 0; u < U; u++)
    for (int64_t c = 0; c < columns; c += kWidth) {
      const Vector x = Lanes::load(w + u * ld + c, Lanes::tail(columns - c));
      sum = Lanes::fmadd(x, x, sum);
    }
  return Lanes::sumLanes(sum);
}

template <int U, FusedKind Kind>
void fusedUnits(const Update& up, const Forward& forward, int64_t ld, int64_t u0, int64_t c0, int64_t columns, const float* x, const float* xT, int64_t rowsPadded,
                float* partial, double& sum, int64_t aheadUnits, int64_t nextChunk) {
  if (Kind != kFusedNone) fusedUpdate<U, Kind>(up, ld, u0, c0, columns, x, aheadUnits, nextChunk);
  if (!forward.input) return;
  const float* w = up.kernel + u0 * ld + c0;
  if (Kind == kFusedNone)  // a forward alone: its weights come in as the update's would
    for (int u = 0; u < U; u++)
      for (int64_t c = 0; c < columns; c += kLineFloats) {
        if (aheadUnits > 0) _mm_prefetch(reinterpret_cast<const char*>(w + (aheadUnits + u) * ld + c), _MM_HINT_T0);
        if (nextChunk > 0) _mm_prefetch(reinterpret_cast<const char*>(w + u * ld + c + nextChunk), _MM_HINT_T1);
      }
  if (forward.squares) sum += fusedSquares<U>(w, ld, columns);
  fusedForward<U>(w, ld, columns, xT, rowsPadded, forward.rows, partial);
}

/** One chunk (units [u0, u0 + tileUnits) × columns [c0, c0 + columns)) of a fused pass: update, Σw², forward into partial. */
template <FusedKind Kind>
void fusedChunk(const Update& up, const Forward& forward, int64_t ld, int64_t u0, int64_t tileUnits, int64_t c0, int64_t columns, const float* x, const float* xT,
                int64_t rowsPadded, float* partial, double& sum, int64_t nextC0, int64_t nextColumns) {
  // The next chunk's input columns (rows `ld` apart, from memory) are prefetched into L2 a few rows
  // per register block, so that packing them does not wait on memory.
  const int64_t updateRows = nextC0 >= 0 && Kind != kFusedNone ? up.rows : 0;
  const int64_t forwardRows = nextC0 >= 0 && forward.input ? forward.rows : 0;
  const int64_t groups = (tileUnits + kFusedUnits - 1) / kFusedUnits;
  // The next chunk's weights and slots are prefetched where it is as wide as this one (not past the rows' end).
  const int64_t nextChunk = nextC0 >= 0 && nextColumns == columns ? nextC0 - c0 : 0;
  int64_t row = 0;
  for (int64_t u = 0; u < tileUnits; u += kFusedUnits) {
    for (const int64_t rowEnd = (updateRows + forwardRows) * (u / kFusedUnits + 1) / groups; row < rowEnd; row++) {
      const float* start = (row < updateRows ? up.input + row * ld : forward.input + (row - updateRows) * ld) + nextC0;
      for (int64_t c = 0; c < nextColumns; c += kLineFloats) _mm_prefetch(reinterpret_cast<const char*>(start + c), _MM_HINT_T1);
    }
    // Units this block prefetches for (0: none left in the tile).
    const int64_t ahead = u + (kPrefetchBlocks + 1) * kFusedUnits <= tileUnits ? kPrefetchBlocks * kFusedUnits : 0;
    float* out = partial + u * forward.rows;
    switch (tileUnits - u < kFusedUnits ? tileUnits - u : kFusedUnits) {
      case 4: fusedUnits<4, Kind>(up, forward, ld, u0 + u, c0, columns, x, xT, rowsPadded, out, sum, ahead, nextChunk); break;
      case 3: fusedUnits<3, Kind>(up, forward, ld, u0 + u, c0, columns, x, xT, rowsPadded, out, sum, ahead, nextChunk); break;
      case 2: fusedUnits<2, Kind>(up, forward, ld, u0 + u, c0, columns, x, xT, rowsPadded, out, sum, ahead, nextChunk); break;
      default: fusedUnits<1, Kind>(up, forward, ld, u0 + u, c0, columns, x, xT, rowsPadded, out, sum, ahead, nextChunk); break;
    }
  }
}

/**
 * columns of input [rows, ld] from c0 into xT [columns][rowsPadded], the padding rows 0 (they add
 * 0·w to lanes never stored): kWidth × kWidth blocks in registers, the edges one value at a time.
 */
void transposeColumns(const float* input, int64_t rows, int64_t ld, int64_t c0, int64_t columns, int64_t rowsPadded, float* xT) {
  const int64_t fullRows = rows / kWidth * kWidth, fullColumns = columns / kWidth * kWidth;
  for (int64_t r = 0; r < fullRows; r += kWidth)
    for (int64_t c = 0; c < fullColumns; c += kWidth) Lanes::transpose(input + r * ld + c0 + c, ld, xT + c * rowsPadded + r, rowsPadded);
  for (int64_t r = 0; r < rows; r++) {
    const float* row = input + r * ld + c0;
    for (int64_t c = r < fullRows ? fullColumns : 0; c < columns; c++) xT[c * rowsPadded + r] = row[c];
  }
  for (int64_t c = 0; c < columns; c++)
    for (int64_t r = rows; r < rowsPadded; r++) xT[c * rowsPadded + r] = 0;
}

/** The fused chunk for the update's kind (kernel in up.kernel). */
void fusedChunkOf(const Update& up, const Forward& forward, int64_t ld, int64_t u0, int64_t tileUnits, int64_t c0, int64_t columns, const float* x, const float* xT,
                  int64_t rowsPadded, float* partial, double& sum, int64_t nextC0, int64_t nextColumns) {
  if (up.kind == Update::kSgd && up.velocity)
    fusedChunk<kFusedMomentum>(up, forward, ld, u0, tileUnits, c0, columns, x, xT, rowsPadded, partial, sum, nextC0, nextColumns);
  else if (up.kind == Update::kSgd)
    fusedChunk<kFusedSgd>(up, forward, ld, u0, tileUnits, c0, columns, x, xT, rowsPadded, partial, sum, nextC0, nextColumns);
  else if (up.kind == Update::kAdam)
    fusedChunk<kFusedAdam>(up, forward, ld, u0, tileUnits, c0, columns, x, xT, rowsPadded, partial, sum, nextC0, nextColumns);
  else
    fusedChunk<kFusedNone>(up, forward, ld, u0, tileUnits, c0, columns, x, xT, rowsPadded, partial, sum, nextC0, nextColumns);
}
