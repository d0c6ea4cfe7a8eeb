// FLOP counting for the roofline: the arithmetic a call asks of the backend, counted by
// wrapping the backend's matrix kernels while it runs once.
//
// Counted: every GEMM (2·m·n·k per batch entry) and the four products of scaled dot-product
// attention's forward (Q Kᵀ and P V) and backward (dV = Pᵀ dO, dP = dO Vᵀ, dQ = dS K,
// dK = dSᵀ Q), each 2·Tq·Tk·width per head, in full even under a causal mask (the PyTorch peer
// multiplies the full matrices). Not counted: elementwise ops, normalisation, softmax, the
// optimizer (memory-bound, a few percent of the FLOPs), and work our kernels redo (the backward
// recomputes the scores). Both sides do this same arithmetic, the models matching layer for
// layer, except where ours skips work the result does not depend on (ViT's last layer beyond
// the [CLS] row: the benchmark counts and times that variant too, *_every_row).

import type { AttentionArgs, GemmArgs } from "../src/backend/backend.js";
import { observeBackend } from "./common.js";

const attentionForward = (a: AttentionArgs): number => 2 * a.bh * a.tq * a.tk * (a.d + a.dv);

/** GFLOP that fn asks of the current backend's matrix kernels. */
export function countGflop(fn: () => unknown): number {
  let flops = 0;
  observeBackend(["gemm", "attention", "attentionBackward"], (name, [args]) => {
    if (name === "gemm") {
      const g = args as GemmArgs;
      flops += 2 * g.m * g.n * g.k * g.batch;
    } else {
      flops += (name === "attention" ? 1 : 2) * attentionForward(args as AttentionArgs);
    }
  }, fn);
  return flops / 1e9;
}
