#pragma once
#include "common.h"

namespace tsf {
// The kernel table in use (chosen once from the CPU and TSFORMER_FORCE_ISA, changeable by setIsa).
const KernelTable* table();
// Returns false when the CPU (or this build) cannot run `name`.
bool setIsa(const char* name);
bool isaSupported(const char* name);

struct GemmBatch {
  GemmCall g;          // a, b, c already point at the first matrix (offsets applied)
  long strideA, strideB, strideC, batch;
};
void gemmBatched(const GemmBatch& gb);
}  // namespace tsf
