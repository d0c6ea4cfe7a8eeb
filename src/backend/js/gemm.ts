// Reference batched GEMM with transpose flags and batch strides (see GemmArgs).

import type { GemmArgs } from "../backend.js";

export function gemm(g: GemmArgs): void {
  const { m, n, k, alpha, beta, a, b, c, lda, ldb, ldc, transA, transB } = g;
  const bias = g.bias ?? null;
  if (bias && bias.length < n) throw new RangeError(`gemm: bias has ${bias.length} elements, needs ${n}`);
  const addend = g.addend ?? null;
  if (addend) {
    if (addend === c) throw new RangeError("gemm: addend must not be c itself (use beta = 1)");
    const need = m === 0 || n === 0 || g.batch === 0 ? 0 : g.cOffset + (g.batch - 1) * g.strideC + (m - 1) * ldc + n;
    if (addend.length < need) throw new RangeError(`gemm: addend has ${addend.length} elements, needs ${need} (laid out like c)`);
  }
  const row = new Float64Array(n);
  for (let bi = 0; bi < g.batch; bi++) {
    const ao = g.aOffset + bi * g.strideA;
    const bo = g.bOffset + bi * g.strideB;
    const co = g.cOffset + bi * g.strideC;
    for (let i = 0; i < m; i++) {
      row.fill(0);
      if (!transB) {
        // C[i, :] += A[i, p] * B[p, :]: B rows are contiguous.
        for (let p = 0; p < k; p++) {
          const aip = transA ? a[ao + p * lda + i] : a[ao + i * lda + p];
          if (aip === 0) continue;
          const br = bo + p * ldb;
          for (let j = 0; j < n; j++) row[j] += aip * b[br + j];
        }
      } else {
        // C[i, j] = A[i, :] . B[j, :]: both contiguous when A is not transposed.
        for (let j = 0; j < n; j++) {
          const br = bo + j * ldb;
          let s = 0;
          if (!transA) {
            const ar = ao + i * lda;
            for (let p = 0; p < k; p++) s += a[ar + p] * b[br + p];
          } else {
            for (let p = 0; p < k; p++) s += a[ao + p * lda + i] * b[br + p];
          }
          row[j] = s;
        }
      }
      const cr = co + i * ldc;
      if (beta === 0) for (let j = 0; j < n; j++) c[cr + j] = alpha * row[j];
      else for (let j = 0; j < n; j++) c[cr + j] = alpha * row[j] + beta * c[cr + j];
      if (bias) for (let j = 0; j < n; j++) c[cr + j] += bias[j];
      if (addend) for (let j = 0; j < n; j++) c[cr + j] += addend[cr + j];
    }
  }
}
