// Matrix multiply: batched, broadcast batch dims, transposed operands without a copy.

import { emptyFloat32 } from "../tensor/memory.js";
import { broadcastShapes, formatShape, shapesEqual, sizeOf } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { broadcastRaw } from "./elementwise.js";
import { reshape } from "./shape.js";
import { assertFloat, backend, sumToShape } from "./util.js";

export interface MatmulOptions {
  /** Use a's last two dims transposed (a is [..., K, M]). */
  transA?: boolean;
  /** Use b's last two dims transposed (b is [..., N, K]): x @ W^T for a Linear layer. */
  transB?: boolean;
}

/**
 * op(a) @ op(b) for tensors of rank >= 2 whose batch dims broadcast. No copy is made to
 * transpose: the GEMM reads the operand transposed.
 */
export function matmulT(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  assertFloat("matmul", a, "a");
  assertFloat("matmul", b, "b");
  if (a.ndim < 2 || b.ndim < 2) {
    throw new RangeError(`matmul: operands need rank >= 2 here, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const [ra, ca] = a.shape.slice(-2), [rb, cb] = b.shape.slice(-2);
  const M = transA ? ca : ra, K = transA ? ra : ca;
  const Kb = transB ? cb : rb, N = transB ? rb : cb;
  if (K !== Kb) {
    throw new RangeError(
      `matmul: inner sizes differ: ${formatShape(a.shape)}${transA ? "^T" : ""} @ ${formatShape(b.shape)}${transB ? "^T" : ""} (${K} vs ${Kb})`,
    );
  }
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  const batchShape = broadcastShapes("matmul", ba, bb);
  const nb = sizeOf(batchShape);
  const outShape = [...batchShape, M, N];
  const out = emptyFloat32(nb * M * N); // both GEMMs below write it in full (beta 0)
  const fold = bb.length === 0 && !transA && ba.length > 0; // [..., M, K] @ [K, N]: one GEMM
  if (fold) {
    const rows = sizeOf(ba) * M;
    backend().gemm({
      transA: false, transB, m: rows, n: N, k: K, alpha: 1,
      a: a.data as Float32Array, aOffset: 0, lda: K, strideA: 0,
      b: b.data as Float32Array, bOffset: 0, ldb: transB ? K : N, strideB: 0,
      beta: 0, c: out, cOffset: 0, ldc: N, strideC: 0, batch: 1,
    });
  } else {
    const aData = batchData(a, ba, batchShape);
    const bData = batchData(b, bb, batchShape);
    backend().gemm({
      transA, transB, m: M, n: N, k: K, alpha: 1,
      a: aData.data, aOffset: 0, lda: ca, strideA: aData.broadcast ? 0 : ra * ca,
      b: bData.data, bOffset: 0, ldb: cb, strideB: bData.broadcast ? 0 : rb * cb,
      beta: 0, c: out, cOffset: 0, ldc: N, strideC: M * N, batch: nb,
    });
  }
  return Tensor.fromOp("matmul", out, outShape, [a, b], (g) => {
    let ga: Tensor | null = null, gb: Tensor | null = null;
    if (a.requiresGrad) {
      ga = transA ? matmulT(b, g, transB, true) : matmulT(g, b, false, !transB);
      ga = sumToShape(ga, a.shape);
    }
    if (b.requiresGrad) {
      if (fold) {
        // fold the batch into the rows again: dB = A2^T G2 (or G2^T A2 when b is transposed)
        const a2 = new Tensor(a.data, [sizeOf(ba) * M, K]);
        const g2 = new Tensor(g.data, [sizeOf(ba) * M, N]);
        gb = transB ? matmulT(g2, a2, true, false) : matmulT(a2, g2, true, false);
      } else {
        gb = transB ? matmulT(g, a, true, transA) : matmulT(a, g, !transA, false);
        gb = sumToShape(gb, b.shape);
      }
    }
    return [ga, gb];
  });
}

/** An operand's batch data: broadcast (stride 0) if it has one matrix, expanded if it must be. */
function batchData(t: Tensor, own: number[], full: number[]): { data: Float32Array; broadcast: boolean } {
  if (sizeOf(own) === 1) return { data: t.data as Float32Array, broadcast: true };
  if (shapesEqual(own, full) || sizeOf(own) === sizeOf(full)) return { data: t.data as Float32Array, broadcast: false };
  return { data: broadcastRaw(t, [...full, ...t.shape.slice(-2)]).data as Float32Array, broadcast: false };
}

/** torch.matmul semantics, 1-D operands included. */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const tA = options.transA ?? false, tB = options.transB ?? false;
  if (a.ndim === 0 || b.ndim === 0) throw new RangeError("matmul: both operands need at least one dim");
  if (a.ndim === 1 && b.ndim === 1) {
    if (a.shape[0] !== b.shape[0]) {
      throw new RangeError(`matmul: vectors of different lengths ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    }
    return reshape(matmulT(reshape(a, [1, a.shape[0]]), reshape(b, [b.shape[0], 1]), false, false), []);
  }
  if (a.ndim === 1) {
    const r = matmulT(reshape(a, [1, a.shape[0]]), b, false, tB);
    return reshape(r, [...r.shape.slice(0, -2), r.shape[r.ndim - 1]]);
  }
  if (b.ndim === 1) {
    const r = matmulT(a, reshape(b, [b.shape[0], 1]), tA, false);
    return reshape(r, r.shape.slice(0, -1));
  }
  return matmulT(a, b, tA, tB);
}
