// T5: "Exploring the Limits of Transfer Learning with a Unified Text-to-Text Transformer"
// (Raffel et al. 2020).
//
// An encoder-decoder Transformer where every task is text in, text out, named by a prefix
// ("translate English to German: ...", here "g2p: ..." and "reverse: ..."). §2.1 lists what
// differs from Vaswani et al.: layer norm is a simplified RMS norm (no mean, no bias) applied
// before each sub-layer, the residual path is left unnormalised, and positions enter only
// through a learned scalar bias per head added to the attention logits, indexed by a bucket of
// the relative distance (log-spaced beyond a few positions, shared by all layers). Scores are
// not divided by sqrt(d) (the initialisation absorbs it). Parameter names follow Hugging Face's
// T5ForConditionalGeneration.

import { KVCache } from "../attention/multi-head.js";
import { attendWithScores } from "../attention/attend.js";
import { causalMask, combineMasks } from "../attention/masks.js";
import { mergeHeads, splitHeads } from "../attention/heads.js";
import { Dropout, Embedding, Linear } from "../nn/layers.js";
import { ModuleList } from "../nn/containers.js";
import { normal_ } from "../nn/init.js";
import { Module, Parameter } from "../nn/module.js";
import { add, gelu, mul, relu, rsqrt } from "../ops/elementwise.js";
import { matmulT } from "../ops/matmul.js";
import { mean } from "../ops/reduce.js";
import { cat, permute, reshape } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import type { StepDecoder } from "../transformer/decoding.js";

/** Hugging Face's T5Config fields, in camelCase. */
export interface T5Config {
  vocabSize: number;
  dModel: number;
  /** Size of each head's keys and values (inner dim = numHeads * dKv, not necessarily dModel). */
  dKv: number;
  dFf: number;
  numLayers: number;
  numDecoderLayers: number;
  numHeads: number;
  relativeAttentionNumBuckets: number;
  relativeAttentionMaxDistance: number;
  dropoutRate: number;
  layerNormEpsilon: number;
  /** "relu" (T5) or "gated-gelu" (T5 v1.1: wi_0, wi_1). */
  feedForwardProj: "relu" | "gated-gelu";
  /** T5 ties the output projection to the shared embedding and rescales by dModel^-0.5. */
  tieWordEmbeddings: boolean;
  padTokenId: number;
  eosTokenId: number;
  /** The decoder starts from this token (T5: the pad token). */
  decoderStartTokenId: number;
}

const base = {
  vocabSize: 32128, relativeAttentionNumBuckets: 32, relativeAttentionMaxDistance: 128, dropoutRate: 0.1,
  layerNormEpsilon: 1e-6, feedForwardProj: "relu" as const, tieWordEmbeddings: true, padTokenId: 0, eosTokenId: 1, decoderStartTokenId: 0,
};

/** §3.1's T5-Small and T5-Base (Table 14 sizes), and a tiny one for the tasks of docs/TEXT.md. */
export const t5Presets: Record<string, T5Config> = {
  "t5-tiny": { ...base, vocabSize: 128, dModel: 128, dKv: 32, dFf: 512, numLayers: 3, numDecoderLayers: 3, numHeads: 4, relativeAttentionMaxDistance: 32 },
  "t5-small": { ...base, dModel: 512, dKv: 64, dFf: 2048, numLayers: 6, numDecoderLayers: 6, numHeads: 8 },
  "t5-base": { ...base, dModel: 768, dKv: 64, dFf: 3072, numLayers: 12, numDecoderLayers: 12, numHeads: 12 },
};

export function t5Config(preset: string, overrides: Partial<T5Config> = {}): T5Config {
  const p = t5Presets[preset];
  if (!p) throw new RangeError(`T5: unknown preset "${preset}" (known: ${Object.keys(t5Presets).join(", ")})`);
  return { ...p, ...overrides };
}

/**
 * §2.1: the bucket of a relative position (key - query). Half the buckets hold exact small
 * distances, the rest cover distances up to maxDistance logarithmically; beyond it all share
 * the last bucket. Bidirectional (encoder) attention gives each sign its own half.
 */
export function relativePositionBucket(relativePosition: number, bidirectional: boolean, numBuckets: number, maxDistance: number): number {
  let bucket = 0, n = relativePosition;
  if (bidirectional) {
    numBuckets = Math.floor(numBuckets / 2);
    if (n > 0) bucket += numBuckets;
    n = Math.abs(n);
  } else {
    n = -Math.min(n, 0); // a decoder sees only the past
  }
  const maxExact = Math.floor(numBuckets / 2);
  if (n < maxExact) return bucket + n;
  // float32 as in the reference, then truncation toward zero
  const large = maxExact + Math.trunc(Math.fround(Math.fround(Math.log(Math.fround(n / maxExact)) / Math.log(maxDistance / maxExact)) * (numBuckets - maxExact)));
  return bucket + Math.min(large, numBuckets - 1);
}

/** §2.1: RMS layer norm, x / sqrt(mean(x^2) + eps) * w: no mean subtraction and no bias. */
export class T5LayerNorm extends Module {
  weight: Parameter;
  constructor(readonly size: number, readonly eps = 1e-6) {
    super();
    this.weight = new Parameter(new Float32Array(size).fill(1), [size]);
  }
  forward(x: Tensor): Tensor {
    const variance = mean(mul(x, x), -1, true); // [..., 1]
    return mul(mul(x, rsqrt(add(variance, this.eps))), this.weight);
  }
}

export interface T5AttendOptions {
  /** Keys/values come from here (cross-attention); null for self-attention. */
  keyValue?: Tensor | null;
  /** int32 (nonzero = may attend), broadcastable to [B, H, Tq, Tk]. */
  mask?: Tensor | null;
  /** Additive [1, H, Tq, Tk] relative position bias (null in cross-attention). */
  positionBias?: Tensor | null;
  cache?: KVCache | null;
}

export class T5Attention extends Module {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  relative_attention_bias: Embedding | null;

  constructor(readonly config: T5Config, readonly hasRelativeAttentionBias: boolean, readonly bidirectional: boolean) {
    super();
    const inner = config.numHeads * config.dKv;
    this.q = new Linear(config.dModel, inner, { bias: false });
    this.k = new Linear(config.dModel, inner, { bias: false });
    this.v = new Linear(config.dModel, inner, { bias: false });
    this.o = new Linear(inner, config.dModel, { bias: false });
    this.relative_attention_bias = hasRelativeAttentionBias ? new Embedding(config.relativeAttentionNumBuckets, config.numHeads) : null;
  }

  /** Bias [1, H, Tq, Tk] for queries at positions offset..offset+Tq-1 and keys 0..Tk-1. */
  computeBias(tq: number, tk: number, offset = 0): Tensor {
    if (!this.relative_attention_bias) throw new Error("T5Attention: this layer has no relative_attention_bias");
    const { relativeAttentionNumBuckets: nb, relativeAttentionMaxDistance: md, numHeads: H } = this.config;
    const buckets = new Int32Array(tq * tk);
    for (let i = 0; i < tq; i++) {
      for (let j = 0; j < tk; j++) buckets[i * tk + j] = relativePositionBucket(j - (i + offset), this.bidirectional, nb, md);
    }
    const values = this.relative_attention_bias.forward(new Tensor(buckets, [tq, tk])); // [Tq, Tk, H]
    return reshape(permute(values, [2, 0, 1]), [1, H, tq, tk]);
  }

  /** x [B, Tq, dModel] -> [B, Tq, dModel] */
  forward(x: Tensor, o: T5AttendOptions = {}): Tensor {
    const H = this.config.numHeads;
    const cache = o.cache;
    const q = splitHeads(this.q.forward(x), H); // [B, Tq, H*dKv] -> [B, H, Tq, dKv]
    let k: Tensor, v: Tensor;
    if (cache?.isStatic && cache.k && cache.v) {
      k = cache.k; // cross-attention: the encoder's keys and values, projected at the first step
      v = cache.v;
    } else {
      const src = o.keyValue ?? x;
      k = this.k.forward(src); // [B, Tk, H*dKv]
      v = this.v.forward(src);
      if (cache) {
        if (cache.k && cache.v) {
          k = cat([cache.k, k], 1);
          v = cat([cache.v, v], 1);
        }
        cache.k = k;
        cache.v = v;
      }
    }
    // no 1/sqrt(d) scaling in T5; the bias is added to the logits before the softmax
    let scores = matmulT(q, splitHeads(k, H), false, true); // [B, H, Tq, Tk]
    if (o.positionBias) scores = add(scores, o.positionBias);
    const { output } = attendWithScores(scores, splitHeads(v, H), o.mask ?? null); // [B, H, Tq, dKv]
    return this.o.forward(mergeHeads(output));
  }
}

/** Pre-norm residual: x + Dropout(SelfAttention(LN(x))). */
export class T5LayerSelfAttention extends Module {
  SelfAttention: T5Attention;
  layer_norm: T5LayerNorm;
  dropout: Dropout;
  constructor(config: T5Config, hasRelativeAttentionBias: boolean, isDecoder: boolean) {
    super();
    this.SelfAttention = new T5Attention(config, hasRelativeAttentionBias, !isDecoder);
    this.layer_norm = new T5LayerNorm(config.dModel, config.layerNormEpsilon);
    this.dropout = new Dropout(config.dropoutRate);
  }
  forward(x: Tensor, o: T5AttendOptions): Tensor {
    return add(x, this.dropout.forward(this.SelfAttention.forward(this.layer_norm.forward(x), o)));
  }
}

/** Pre-norm residual around attention to the encoder's output (no position bias). */
export class T5LayerCrossAttention extends Module {
  EncDecAttention: T5Attention;
  layer_norm: T5LayerNorm;
  dropout: Dropout;
  constructor(config: T5Config) {
    super();
    this.EncDecAttention = new T5Attention(config, false, true);
    this.layer_norm = new T5LayerNorm(config.dModel, config.layerNormEpsilon);
    this.dropout = new Dropout(config.dropoutRate);
  }
  forward(x: Tensor, o: T5AttendOptions): Tensor {
    return add(x, this.dropout.forward(this.EncDecAttention.forward(this.layer_norm.forward(x), o)));
  }
}

/** ReLU feed-forward without biases (T5), or the gated-GELU one of T5 v1.1. */
export class T5DenseFF extends Module {
  wi: Linear | null = null;
  wi_0: Linear | null = null;
  wi_1: Linear | null = null;
  wo: Linear;
  dropout: Dropout;
  constructor(readonly config: T5Config) {
    super();
    if (config.feedForwardProj === "gated-gelu") {
      this.wi_0 = new Linear(config.dModel, config.dFf, { bias: false });
      this.wi_1 = new Linear(config.dModel, config.dFf, { bias: false });
    } else {
      this.wi = new Linear(config.dModel, config.dFf, { bias: false });
    }
    this.wo = new Linear(config.dFf, config.dModel, { bias: false });
    this.dropout = new Dropout(config.dropoutRate);
  }
  forward(x: Tensor): Tensor {
    const h = this.wi ? relu(this.wi.forward(x)) : mul(gelu(this.wi_0!.forward(x), "tanh"), this.wi_1!.forward(x));
    return this.wo.forward(this.dropout.forward(h));
  }
}

export class T5LayerFF extends Module {
  DenseReluDense: T5DenseFF;
  layer_norm: T5LayerNorm;
  dropout: Dropout;
  constructor(config: T5Config) {
    super();
    this.DenseReluDense = new T5DenseFF(config);
    this.layer_norm = new T5LayerNorm(config.dModel, config.layerNormEpsilon);
    this.dropout = new Dropout(config.dropoutRate);
  }
  forward(x: Tensor): Tensor {
    return add(x, this.dropout.forward(this.DenseReluDense.forward(this.layer_norm.forward(x))));
  }
}

/** Per-layer decoding caches: self-attention grows, cross-attention is filled once. */
export interface T5LayerCache {
  self: KVCache;
  cross: KVCache;
}

export class T5Block extends Module {
  layer: ModuleList;
  private _self: T5LayerSelfAttention;
  private _cross: T5LayerCrossAttention | null;
  private _ff: T5LayerFF;

  constructor(config: T5Config, hasRelativeAttentionBias: boolean, readonly isDecoder: boolean) {
    super();
    this._self = new T5LayerSelfAttention(config, hasRelativeAttentionBias, isDecoder);
    this._cross = isDecoder ? new T5LayerCrossAttention(config) : null;
    this._ff = new T5LayerFF(config);
    this.layer = new ModuleList(this._cross ? [this._self, this._cross, this._ff] : [this._self, this._ff]);
  }

  get selfAttention(): T5Attention {
    return this._self.SelfAttention;
  }

  forward(x: Tensor, self: T5AttendOptions, cross: T5AttendOptions | null): Tensor {
    x = this._self.forward(x, self);
    if (this._cross && cross) x = this._cross.forward(x, cross);
    return this._ff.forward(x);
  }
}

export class T5Stack extends Module {
  embed_tokens: Embedding;
  block: ModuleList<T5Block>;
  final_layer_norm: T5LayerNorm;
  dropout: Dropout;

  /** embedTokens is the model's shared embedding (listed once, as "shared.weight"). */
  constructor(readonly config: T5Config, embedTokens: Embedding, readonly isDecoder: boolean) {
    super();
    this.embed_tokens = embedTokens;
    const n = isDecoder ? config.numDecoderLayers : config.numLayers;
    // only the first layer owns the bias table; the other layers reuse its bias (§2.1)
    this.block = new ModuleList(Array.from({ length: n }, (_, i) => new T5Block(config, i === 0, isDecoder)));
    this.final_layer_norm = new T5LayerNorm(config.dModel, config.layerNormEpsilon);
    this.dropout = new Dropout(config.dropoutRate);
  }

  /**
   * ids [B, T] -> hidden [B, T, dModel]. mask: the keys this stack's self-attention may see
   * (int32 [B, T]); the decoder adds the causal mask and attends to encoderHidden under encoderMask.
   */
  forward(ids: Tensor, mask: Tensor | null, encoderHidden: Tensor | null = null, encoderMask: Tensor | null = null, caches: T5LayerCache[] | null = null): Tensor {
    const [B, T] = ids.shape;
    const past = caches ? caches[0].self.length : 0;
    const tk = past + T;
    let selfMask: Tensor | null = mask ? reshape(mask, [B, 1, 1, mask.shape[1]]) : null;
    if (this.isDecoder) selfMask = combineMasks(causalMask(T, tk), selfMask);
    const bias = this.block.get(0).selfAttention.computeBias(T, tk, past); // [1, H, T, Tk], shared by every layer
    const crossMask = encoderMask ? reshape(encoderMask, [B, 1, 1, encoderMask.shape[1]]) : null;
    let x = this.dropout.forward(this.embed_tokens.forward(ids));
    let i = 0;
    for (const blk of this.block) {
      x = blk.forward(x, { mask: selfMask, positionBias: bias, cache: caches?.[i].self },
        this.isDecoder ? { keyValue: encoderHidden, mask: crossMask, cache: caches?.[i].cross } : null);
      i++;
    }
    return this.dropout.forward(this.final_layer_norm.forward(x));
  }
}

export interface T5Inputs {
  /** 1 for real source tokens, 0 for padding: int32 [B, S]. Defaults to ids != pad. */
  attentionMask?: Tensor | null;
  /** The decoder's input [B, T] (targets shifted right behind decoderStartTokenId). */
  decoderInputIds: Tensor;
}

export class T5ForConditionalGeneration extends Module {
  shared: Embedding;
  encoder: T5Stack;
  decoder: T5Stack;
  lm_head: Linear | null;

  constructor(readonly config: T5Config) {
    super();
    if (!(config.relativeAttentionNumBuckets >= 2)) throw new RangeError(`T5: relativeAttentionNumBuckets must be >= 2, got ${config.relativeAttentionNumBuckets}`);
    this.shared = new Embedding(config.vocabSize, config.dModel);
    this.encoder = new T5Stack(config, this.shared, false);
    this.decoder = new T5Stack(config, this.shared, true);
    this.lm_head = config.tieWordEmbeddings ? null : new Linear(config.dModel, config.vocabSize, { bias: false });
    initT5Weights(this);
  }

  private checkIds(what: string, ids: Tensor): void {
    if (ids.dtype !== "int32" || ids.ndim !== 2) throw new RangeError(`T5: ${what} must be int32 [B, T], got ${ids.dtype} ${formatShape(ids.shape)}`);
    const V = this.config.vocabSize;
    const d = ids.data, T = ids.shape[1];
    for (let i = 0; i < d.length; i++) {
      if (d[i] < 0 || d[i] >= V) throw new RangeError(`T5: ${what} has token id ${d[i]} at [${Math.floor(i / T)}, ${i % T}], outside the vocabulary [0, ${V})`);
    }
  }

  /** 1 where the id is not padding. */
  defaultMask(ids: Tensor): Tensor {
    const pad = this.config.padTokenId;
    return new Tensor(Int32Array.from(ids.data, (t) => (t === pad ? 0 : 1)), ids.shape);
  }

  /** Source ids [B, S] -> encoder output [B, S, dModel] */
  encode(inputIds: Tensor, attentionMask: Tensor | null = null): Tensor {
    this.checkIds("input ids", inputIds);
    return this.encoder.forward(inputIds, attentionMask ?? this.defaultMask(inputIds));
  }

  /** Decoder ids [B, T] -> logits [B, T, V] */
  decode(decoderInputIds: Tensor, encoderHidden: Tensor, encoderMask: Tensor | null, caches: T5LayerCache[] | null = null): Tensor {
    this.checkIds("decoder input ids", decoderInputIds);
    const h = this.decoder.forward(decoderInputIds, null, encoderHidden, encoderMask, caches);
    if (this.lm_head) return this.lm_head.forward(h);
    // tied embeddings: rescale by dModel^-0.5 before projecting (Mesh TensorFlow's T5)
    return matmulT(mul(h, this.config.dModel ** -0.5), this.shared.weight, false, true);
  }

  /** Source ids [B, S] and decoder input [B, T] -> logits [B, T, V] */
  forward(inputIds: Tensor, inputs: T5Inputs): { logits: Tensor } {
    const mask = inputs.attentionMask ?? this.defaultMask(inputIds);
    return { logits: this.decode(inputs.decoderInputIds, this.encode(inputIds, mask), mask) };
  }

  /** Teacher forcing: [start, y1, ..., y_{T-1}] from labels [y1, ..., yT]. */
  shiftRight(labels: Tensor): Tensor {
    const [B, T] = labels.shape;
    const out = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      out[b * T] = this.config.decoderStartTokenId;
      for (let t = 1; t < T; t++) out[b * T + t] = labels.data[b * T + t - 1];
    }
    return new Tensor(out, [B, T]);
  }

  newCaches(): T5LayerCache[] {
    return Array.from({ length: this.config.numDecoderLayers }, () => ({ self: new KVCache(), cross: new KVCache(true) }));
  }
}

/** Hugging Face's T5PreTrainedModel._init_weights (factor 1). */
function initT5Weights(m: T5ForConditionalGeneration): void {
  const { dModel, dKv, dFf, numHeads } = m.config;
  normal_(m.shared.weight, 0, 1);
  if (m.lm_head) normal_(m.lm_head.weight, 0, 1);
  for (const mod of m.modules()) {
    if (mod instanceof T5Attention) {
      normal_(mod.q.weight, 0, (dModel * dKv) ** -0.5);
      normal_(mod.k.weight, 0, dModel ** -0.5);
      normal_(mod.v.weight, 0, dModel ** -0.5);
      normal_(mod.o.weight, 0, (numHeads * dKv) ** -0.5);
      if (mod.relative_attention_bias) normal_(mod.relative_attention_bias.weight, 0, dModel ** -0.5);
    } else if (mod instanceof T5DenseFF) {
      for (const w of [mod.wi, mod.wi_0, mod.wi_1]) if (w) normal_(w.weight, 0, dModel ** -0.5);
      normal_(mod.wo.weight, 0, dFf ** -0.5);
    }
  }
}

export interface T5State {
  encoderHidden: Tensor;
  encoderMask: Tensor;
  caches: T5LayerCache[] | null;
}

/**
 * T5 as a StepDecoder for greedy, beam and sampled decoding (src/transformer/decoding.ts):
 * pass bos = config.decoderStartTokenId and eos = config.eosTokenId. With useCache (default)
 * each step feeds only the newest token.
 */
export function t5Decoder(model: T5ForConditionalGeneration, options: { useCache?: boolean } = {}): StepDecoder<T5State> {
  const useCache = options.useCache ?? true;
  return {
    begin(src, srcMask) {
      const mask = srcMask ? reshape(srcMask, [src.shape[0], src.shape[1]]) : model.defaultMask(src);
      return { encoderHidden: model.encode(src, mask), encoderMask: mask, caches: useCache ? model.newCaches() : null };
    },
    step(tokens, s) {
      const T = tokens.shape[1];
      const input = s.caches ? tokens.slice(1, T - 1, T) : tokens;
      const logits = model.decode(input, s.encoderHidden, s.encoderMask, s.caches); // [N, t, V]
      const t = logits.shape[1], V = logits.shape[2];
      return logits.slice(1, t - 1, t).reshape([tokens.shape[0], V]);
    },
    select(s, rows) {
      const idx = new Tensor(rows, [rows.length]);
      return {
        encoderHidden: s.encoderHidden.indexSelect(0, idx),
        encoderMask: s.encoderMask.indexSelect(0, idx),
        caches: s.caches ? s.caches.map((c) => ({ self: c.self.select(idx), cross: c.cross.select(idx) })) : null,
      };
    },
  };
}
