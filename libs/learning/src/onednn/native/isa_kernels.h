// The addon's own kernels for one ISA: the fused passes' register blocks (fused_passes.h) and
// logisticObjective's (logistic_tiles.h), over the `Lanes` of the namespace that includes this file
// under that ISA's `#pragma GCC target` (featx_dense.cc: once for AVX-512, once for AVX2 with FMA).
// No include guard, for that reason.

using Vector = Lanes::Vector;
using Mask = Lanes::Mask;
constexpr int kWidth = Lanes::kWidth;

#include "fused_passes.h"
#include "logistic_tiles.h"
