// Multi-head attention (Vaswani et al. 2017, §3.2.2): project queries, keys and values per
// head, attend in parallel, concatenate, project back. Self-, cross- and causal attention
// are the same module called with different inputs and masks.

import { Linear } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { scaledDotProductAttention } from "../ops/attention.js";
import { dropout } from "../ops/functional.js";
import type { Tensor } from "../tensor/tensor.js";
import { mergeHeads, splitHeads } from "./heads.js";

export interface MultiHeadAttentionOptions {
  bias?: boolean;
  /** Dropout on the attention output projection's input (default 0). */
  dropout?: number;
}

export interface AttendOptions {
  /** int32 (nonzero = may attend) or additive float mask broadcastable to [B, H, Tq, Tk]. */
  mask?: Tensor | null;
  causal?: boolean;
}

export class MultiHeadAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;
  out: Linear;
  readonly headDim: number;

  constructor(readonly embedDim: number, readonly numHeads: number, readonly options: MultiHeadAttentionOptions = {}) {
    super();
    if (embedDim % numHeads !== 0) {
      throw new RangeError(`MultiHeadAttention: embedding dim ${embedDim} is not divisible by ${numHeads} heads`);
    }
    this.headDim = embedDim / numHeads;
    const bias = { bias: options.bias ?? true };
    this.query = new Linear(embedDim, embedDim, bias);
    this.key = new Linear(embedDim, embedDim, bias);
    this.value = new Linear(embedDim, embedDim, bias);
    this.out = new Linear(embedDim, embedDim, bias);
  }

  /** query [B, Tq, C], key/value [B, Tk, C] -> [B, Tq, C] */
  forward(query: Tensor, key: Tensor, value: Tensor, options: AttendOptions = {}): Tensor {
    const H = this.numHeads;
    const q = splitHeads(this.query.forward(query), H); // [B, H, Tq, D]
    const k = splitHeads(this.key.forward(key), H); // [B, H, Tk, D]
    const v = splitHeads(this.value.forward(value), H);
    const y = scaledDotProductAttention(q, k, v, { mask: options.mask, causal: options.causal });
    return this.out.forward(dropout(mergeHeads(y), this.options.dropout ?? 0, this.training));
  }
}
