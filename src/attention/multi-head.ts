// Multi-head attention (Vaswani et al. 2017, §3.2.2): project queries, keys and values per
// head, attend in parallel, concatenate, project back. Self-, cross- and causal attention
// are the same module called with different inputs and masks.

import { Linear, fusedLinear } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { multiHeadAttentionFused, multiHeadAttentionPacked, multiHeadAttentionPackedKV } from "../ops/attention.js";
import { dropout } from "../ops/functional.js";
import { cat, indexSelect } from "../ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";

export interface MultiHeadAttentionOptions {
  bias?: boolean;
  /** Dropout on the attention output projection's input (default 0). */
  dropout?: number;
}

export interface MultiHeadAttendOptions {
  /** int32 (nonzero = may attend) or additive float mask broadcastable to [B, H, Tq, Tk]. */
  mask?: Tensor | null;
  causal?: boolean;
  /**
   * Key/value cache for incremental decoding. Self-attention appends this step's keys and
   * values to it; cross-attention (static) projects the memory once and reuses it.
   */
  cache?: KVCache | null;
  /** Added to the output by the output projection's GEMM (the residual connection around the block). */
  residual?: Tensor | null;
}

/** Projected keys and values of the positions seen so far: [B, T, C] each (heads side by side). */
export class KVCache {
  k: Tensor | null = null;
  v: Tensor | null = null;
  /** Static caches (cross-attention) are filled once and never grow. */
  constructor(readonly isStatic = false) {}

  get length(): number {
    return this.k ? this.k.shape[1] : 0;
  }

  /** Keep rows of the batch (beam search reorders hypotheses). */
  select(rows: Tensor): KVCache {
    const c = new KVCache(this.isStatic);
    if (this.k && this.v) {
      c.k = indexSelect(this.k, 0, rows);
      c.v = indexSelect(this.v, 0, rows);
    }
    return c;
  }
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
  forward(query: Tensor, key: Tensor, value: Tensor, options: MultiHeadAttendOptions = {}): Tensor {
    const cache = options.cache;
    const attend = { mask: options.mask, causal: options.causal };
    if (!cache && key === value) {
      // the same input projected twice or three times: one GEMM for [q | k | v] (self-attention)
      // or [k | v] (cross-attention), read in place by the kernel
      const y = query === key
        ? multiHeadAttentionPacked(fusedLinear(query, [this.query, this.key, this.value]), this.numHeads, attend) // [B, T, 3C] -> [B, T, C]
        : multiHeadAttentionPackedKV(this.query.forward(query), fusedLinear(key, [this.key, this.value]), this.numHeads, attend); // kv [B, Tk, 2C]
      return this.out.forward(dropout(y, this.options.dropout ?? 0, this.training), options.residual ?? null);
    }
    const q = this.query.forward(query); // [B, Tq, C]: head h is columns h*D..(h+1)*D
    let k: Tensor, v: Tensor;
    if (cache?.isStatic && cache.k && cache.v) {
      k = cache.k; // cross-attention: the memory's keys and values were projected at step 0
      v = cache.v;
    } else {
      k = this.key.forward(key); // [B, Tk, C]
      v = this.value.forward(value);
      if (cache) {
        if (cache.k && cache.v) {
          k = cat([cache.k, k], 1); // the past keys, then this step's: O(T) work per new token
          v = cat([cache.v, v], 1);
        }
        cache.k = k;
        cache.v = v;
      }
    }
    // all heads at once on the [B, T, H*D] layout (no split/merge copies); with a cache the
    // causal mask aligns the Tq new queries with the last Tq of the Tk positions
    const y = multiHeadAttentionFused(q, k, v, this.numHeads, attend);
    return this.out.forward(dropout(y, this.options.dropout ?? 0, this.training), options.residual ?? null);
  }
}
