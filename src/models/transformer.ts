// The Transformer of "Attention Is All You Need" (Vaswani et al. 2017), Figure 1:
// embeddings scaled by sqrt(d_model) plus sinusoidal positions, N encoder layers, N decoder
// layers with masked self-attention and cross-attention, a linear layer and softmax.

import { Dropout, Embedding, LayerNorm, Linear } from "../nn/layers.js";
import { ModuleList } from "../nn/containers.js";
import { normal_ } from "../nn/init.js";
import { Module } from "../nn/module.js";
import { add, mul } from "../ops/elementwise.js";
import { linear } from "../ops/functional.js";
import { narrow } from "../ops/shape.js";
import { sinusoidalTable } from "../position/sinusoidal.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { type Activation, DecoderLayerCache, TransformerDecoderLayer, TransformerEncoderLayer } from "../transformer/layers.js";

export interface TransformerConfig {
  srcVocabSize: number;
  tgtVocabSize: number;
  dModel: number;
  numHeads: number;
  numEncoderLayers: number;
  numDecoderLayers: number;
  dimFeedforward: number;
  dropout: number;
  maxLen: number;
  normFirst: boolean;
  /** One embedding table for source, target and the output projection (needs one vocabulary). */
  shareEmbeddings: boolean;
  activation?: Activation;
  layerNormEps?: number;
}

export const transformerPresets: Record<string, TransformerConfig> = {
  "transformer-base": {
    srcVocabSize: 37000, tgtVocabSize: 37000, dModel: 512, numHeads: 8, numEncoderLayers: 6, numDecoderLayers: 6,
    dimFeedforward: 2048, dropout: 0.1, maxLen: 512, normFirst: false, shareEmbeddings: true,
  },
  "transformer-small": {
    srcVocabSize: 1000, tgtVocabSize: 1000, dModel: 256, numHeads: 4, numEncoderLayers: 3, numDecoderLayers: 3,
    dimFeedforward: 1024, dropout: 0.1, maxLen: 256, normFirst: false, shareEmbeddings: false,
  },
};

export class Transformer extends Module {
  srcEmbed: Embedding;
  tgtEmbed: Embedding;
  dropout: Dropout;
  encoder: ModuleList<TransformerEncoderLayer>;
  decoder: ModuleList<TransformerDecoderLayer>;
  encoderNorm: LayerNorm | null;
  decoderNorm: LayerNorm | null;
  generator: Linear | null;
  private readonly _pe: Tensor;

  constructor(readonly config: TransformerConfig) {
    super();
    const c = config;
    if (c.shareEmbeddings && c.srcVocabSize !== c.tgtVocabSize) {
      throw new RangeError(`Transformer: shared embeddings need one vocabulary, got ${c.srcVocabSize} and ${c.tgtVocabSize}`);
    }
    this.srcEmbed = new Embedding(c.srcVocabSize, c.dModel);
    normal_(this.srcEmbed.weight, 0, c.dModel ** -0.5);
    this.tgtEmbed = c.shareEmbeddings ? this.srcEmbed : new Embedding(c.tgtVocabSize, c.dModel);
    if (!c.shareEmbeddings) normal_(this.tgtEmbed.weight, 0, c.dModel ** -0.5);
    this.dropout = new Dropout(c.dropout);
    const layer = {
      dModel: c.dModel, numHeads: c.numHeads, dimFeedforward: c.dimFeedforward, dropout: c.dropout,
      activation: c.activation ?? "relu", normFirst: c.normFirst, layerNormEps: c.layerNormEps ?? 1e-5,
    };
    this.encoder = new ModuleList(Array.from({ length: c.numEncoderLayers }, () => new TransformerEncoderLayer(layer)));
    this.decoder = new ModuleList(Array.from({ length: c.numDecoderLayers }, () => new TransformerDecoderLayer(layer)));
    // pre-norm stacks need a final norm; post-norm layers already end with one
    this.encoderNorm = c.normFirst ? new LayerNorm(c.dModel, layer.layerNormEps) : null;
    this.decoderNorm = c.normFirst ? new LayerNorm(c.dModel, layer.layerNormEps) : null;
    this.generator = c.shareEmbeddings ? null : new Linear(c.dModel, c.tgtVocabSize);
    this._pe = sinusoidalTable(c.maxLen, c.dModel);
  }

  /** Embedding * sqrt(d_model) + PE, then dropout (§3.4, §3.5); `offset` is the first position. */
  private embed(table: Embedding, ids: Tensor, offset = 0): Tensor {
    const T = ids.shape[1];
    if (ids.ndim !== 2) throw new RangeError(`Transformer: token ids must be [B, T], got ${formatShape(ids.shape)}`);
    if (offset + T > this.config.maxLen) {
      throw new RangeError(`Transformer: length ${offset + T} exceeds the position table of maxLen ${this.config.maxLen}`);
    }
    const x = mul(table.forward(ids), Math.sqrt(this.config.dModel));
    return this.dropout.forward(add(x, narrow(this._pe, 0, offset, T)));
  }

  /** src ids [B, S] -> memory [B, S, C]; srcMask broadcastable to [B, H, S, S] (padding: [B, 1, 1, S]). */
  encode(src: Tensor, srcMask?: Tensor | null): Tensor {
    let x = this.embed(this.srcEmbed, src);
    for (const l of this.encoder) x = l.forward(x, srcMask);
    return this.encoderNorm ? this.encoderNorm.forward(x) : x;
  }

  /**
   * Target prefix ids [B, T] and memory -> logits [B, T, V] (causal: position t sees <= t).
   * With caches (one per decoder layer), tgtIn holds only the new tokens and the layers
   * attend to the cached keys and values of the earlier ones.
   */
  decode(tgtIn: Tensor, memory: Tensor, memoryMask?: Tensor | null, caches?: DecoderLayerCache[] | null): Tensor {
    const offset = caches ? caches[0].self.length : 0;
    let y = this.embed(this.tgtEmbed, tgtIn, offset);
    let i = 0;
    for (const l of this.decoder) y = l.forward(y, memory, memoryMask, caches ? caches[i++] : null);
    if (this.decoderNorm) y = this.decoderNorm.forward(y);
    return this.generator ? this.generator.forward(y) : linear(y, this.tgtEmbed.weight);
  }

  /** Fresh caches for incremental decoding, one per decoder layer. */
  newCaches(): DecoderLayerCache[] {
    return Array.from({ length: this.decoder.length }, () => new DecoderLayerCache());
  }

  /** Teacher forcing: all target positions in parallel. */
  forward(src: Tensor, tgtIn: Tensor, srcMask?: Tensor | null): Tensor {
    return this.decode(tgtIn, this.encode(src, srcMask), srcMask);
  }
}
