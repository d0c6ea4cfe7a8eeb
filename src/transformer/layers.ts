// The encoder and decoder layers of "Attention Is All You Need" (§3.1, Figure 1): sub-layers
// wrapped in residual connections and layer norm, post-norm as in the paper or pre-norm.

import { KVCache, MultiHeadAttention } from "../attention/multi-head.js";
import { Dropout, LayerNorm, Linear, projectWithResidual } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { gelu, relu } from "../ops/elementwise.js";
import type { Tensor } from "../tensor/tensor.js";

export type Activation = "relu" | "gelu" | "geluTanh";

export interface LayerConfig {
  dModel: number;
  numHeads: number;
  dimFeedforward: number;
  dropout: number;
  activation: Activation;
  /** Pre-norm (LayerNorm before each sub-layer) instead of the paper's post-norm. */
  normFirst: boolean;
  layerNormEps: number;
}

function activate(x: Tensor, a: Activation): Tensor {
  return a === "relu" ? relu(x) : gelu(x, a === "geluTanh" ? "tanh" : "none");
}

/** FFN(x) = act(x W1 + b1) W2 + b2 (§3.3). */
export class FeedForward extends Module {
  linear1: Linear;
  linear2: Linear;
  dropout: Dropout;

  constructor(dModel: number, dimFeedforward: number, readonly activation: Activation, p: number) {
    super();
    this.linear1 = new Linear(dModel, dimFeedforward);
    this.linear2 = new Linear(dimFeedforward, dModel);
    this.dropout = new Dropout(p);
  }

  /** (+ residual, added by linear2's GEMM) */
  forward(x: Tensor, residual: Tensor | null = null): Tensor {
    return this.linear2.forward(this.dropout.forward(activate(this.linear1.forward(x), this.activation)), residual);
  }
}

/**
 * x + Dropout(Sublayer(x)), with the norm placed before (pre) or after (post). Without dropout
 * the sublayer gets x to add in its last projection's GEMM (one write instead of a write and an add).
 */
function residual(x: Tensor, norm: LayerNorm, drop: Dropout, normFirst: boolean,
  sublayer: (h: Tensor, residual: Tensor | null) => Tensor): Tensor {
  const h = normFirst ? norm.forward(x) : x;
  const y = projectWithResidual((r) => sublayer(h, r), drop, x);
  return normFirst ? y : norm.forward(y);
}

export class TransformerEncoderLayer extends Module {
  selfAttn: MultiHeadAttention;
  feedForward: FeedForward;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;

  constructor(readonly config: LayerConfig) {
    super();
    const c = config;
    this.selfAttn = new MultiHeadAttention(c.dModel, c.numHeads);
    this.feedForward = new FeedForward(c.dModel, c.dimFeedforward, c.activation, c.dropout);
    this.norm1 = new LayerNorm(c.dModel, c.layerNormEps);
    this.norm2 = new LayerNorm(c.dModel, c.layerNormEps);
    this.dropout1 = new Dropout(c.dropout);
    this.dropout2 = new Dropout(c.dropout);
  }

  /** x [B, T, C]; mask broadcastable to [B, H, T, T] (e.g. padding as [B, 1, 1, T]). */
  forward(x: Tensor, mask?: Tensor | null): Tensor {
    const nf = this.config.normFirst;
    x = residual(x, this.norm1, this.dropout1, nf, (h, r) => this.selfAttn.forward(h, h, h, { mask, residual: r }));
    return residual(x, this.norm2, this.dropout2, nf, (h, r) => this.feedForward.forward(h, r));
  }
}

export class TransformerDecoderLayer extends Module {
  selfAttn: MultiHeadAttention;
  crossAttn: MultiHeadAttention;
  feedForward: FeedForward;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;

  constructor(readonly config: LayerConfig) {
    super();
    const c = config;
    this.selfAttn = new MultiHeadAttention(c.dModel, c.numHeads);
    this.crossAttn = new MultiHeadAttention(c.dModel, c.numHeads);
    this.feedForward = new FeedForward(c.dModel, c.dimFeedforward, c.activation, c.dropout);
    this.norm1 = new LayerNorm(c.dModel, c.layerNormEps);
    this.norm2 = new LayerNorm(c.dModel, c.layerNormEps);
    this.norm3 = new LayerNorm(c.dModel, c.layerNormEps);
    this.dropout1 = new Dropout(c.dropout);
    this.dropout2 = new Dropout(c.dropout);
    this.dropout3 = new Dropout(c.dropout);
  }

  /** Masked self-attention, cross-attention over the encoder's memory, feed-forward. */
  forward(x: Tensor, memory: Tensor, memoryMask?: Tensor | null, cache?: DecoderLayerCache | null): Tensor {
    const nf = this.config.normFirst;
    x = residual(x, this.norm1, this.dropout1, nf, (h, r) => this.selfAttn.forward(h, h, h, { causal: true, cache: cache?.self, residual: r }));
    x = residual(x, this.norm2, this.dropout2, nf, (h, r) =>
      this.crossAttn.forward(h, memory, memory, { mask: memoryMask, cache: cache?.cross, residual: r }));
    return residual(x, this.norm3, this.dropout3, nf, (h, r) => this.feedForward.forward(h, r));
  }
}

/** The two caches a decoder layer keeps while decoding token by token. */
export class DecoderLayerCache {
  self = new KVCache();
  cross = new KVCache(true);

  select(rows: Tensor): DecoderLayerCache {
    const c = new DecoderLayerCache();
    c.self = this.self.select(rows);
    c.cross = this.cross.select(rows);
    return c;
  }
}
