// FLOP counting for the roofline: the arithmetic a call asks of the backend, counted by
// wrapping the backend's matrix kernels while it runs once.
//
// Counted: every GEMM (2·m·n·k per batch entry) and the four products of scaled dot-product
// attention's forward (Q Kᵀ and P V) and backward (dV = Pᵀ dO, dP = dO Vᵀ, dQ = dS K,
// dK = dSᵀ Q), each 2·Tq·Tk·width per head, in full even under a causal mask (the PyTorch peer
// multiplies the full matrices). Not counted: elementwise ops, normalisation, softmax, the
// optimizer (memory-bound, a few percent of the FLOPs), and work our kernels redo (the backward
// recomputes the scores). Both sides do this same arithmetic: the models match layer for layer.

import type { AttentionArgs, GemmArgs } from "../src/backend/backend.js";
import { getBackend } from "../src/index.js";

const attentionForward = (a: AttentionArgs): number => 2 * a.bh * a.tq * a.tk * (a.d + a.dv);

/** GFLOP that fn asks of the current backend's matrix kernels. */
export function countGflop(fn: () => unknown): number {
  const be = getBackend() as unknown as Record<string, (...args: unknown[]) => unknown>;
  const saved = { gemm: be.gemm, attention: be.attention, attentionBackward: be.attentionBackward };
  const own = Object.keys(saved).filter((k) => Object.prototype.hasOwnProperty.call(be, k));
  let flops = 0;
  be.gemm = function (this: unknown, g: unknown) {
    const a = g as GemmArgs;
    flops += 2 * a.m * a.n * a.k * a.batch;
    return saved.gemm.call(be, g);
  };
  be.attention = function (this: unknown, g: unknown) {
    flops += attentionForward(g as AttentionArgs);
    return saved.attention.call(be, g);
  };
  be.attentionBackward = function (this: unknown, g: unknown) {
    flops += 2 * attentionForward(g as AttentionArgs);
    return saved.attentionBackward.call(be, g);
  };
  try {
    fn();
  } finally {
    for (const k of Object.keys(saved) as (keyof typeof saved)[]) {
      if (own.includes(k)) be[k] = saved[k];
      else delete be[k];
    }
  }
  return flops / 1e9;
}
