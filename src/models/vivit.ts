// ViViT: "A Video Vision Transformer" (Arnab et al. 2021).
//
// A clip [B, T, C, H, W] becomes a sequence of tokens by tubelet embedding (section 3.2): a 3-D
// convolution whose kernel and stride are one t x h x w tubelet, so each token sees t frames.
// With t = 1 this is uniform frame sampling: every frame is embedded as ViT embeds an image and
// the frames' tokens are concatenated. The four models of section 3.3 differ only in which
// tokens attend to which:
//
//   Model 1  spatio-temporal attention: one ViT over all nt*nh*nw tokens (+ [CLS]).
//   Model 2  factorised encoder: a spatial ViT per temporal index, then a temporal Transformer
//            over the nt per-frame [CLS] outputs (+ its own [CLS]).
//   Model 3  factorised self-attention: each block attends over space (tokens of one temporal
//            index), then over time (tokens at one spatial location), then the MLP (eq. 7).
//   Model 4  factorised dot-product attention: half the heads attend over space, half over time,
//            and their outputs are concatenated before the output projection (eq. 8-9).
//
// Models 3 and 4 have no [CLS] token ("to avoid ambiguities when reshaping the input tokens
// between spatial and temporal dimensions"): they classify the mean of the final tokens.
// Tokens are kept in temporal-major order, [B, nt, ns, D] flattened to [B, nt*ns, D], so the
// spatial view is a free reshape and the temporal view one permute.
//
// Parameter names follow Hugging Face's ViT (and VivitForVideoClassification for Model 1), so a
// ViT image checkpoint initialises a video model (section 3.4, `vivitFromViT`).

import { LayerNorm, Linear, Conv3d, Dropout } from "../nn/layers.js";
import { ModuleList } from "../nn/containers.js";
import { ones_, truncNormal_, zeros_ } from "../nn/init.js";
import { Module, Parameter } from "../nn/module.js";
import { multiHeadAttentionFused } from "../ops/attention.js";
import { add } from "../ops/elementwise.js";
import { matmulT } from "../ops/matmul.js";
import { mean } from "../ops/reduce.js";
import { cat, expand, narrow, permute, reshape, unfold } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { ViTAttention, ViTIntermediate, ViTOutput, ViTSelfAttention, ViTSelfOutput, type ViTConfig } from "./vit.js";

export type ViViTVariant = 1 | 2 | 3 | 4;

export interface ViViTConfig {
  /** Which of the paper's four models (section 3.3). */
  model: ViViTVariant;
  /** Frames per clip T; must divide by the tubelet depth. */
  numFrames: number;
  /** Frames are imageSize x imageSize. */
  imageSize: number;
  numChannels: number;
  /** Tubelet [t, h, w]; t = 1 is uniform frame sampling. */
  tubeletSize: [number, number, number];
  hiddenSize: number;
  /** Model 1, 3, 4: layers; Model 2: layers of the spatial encoder (L_s). */
  numHiddenLayers: number;
  /** Model 2 only: layers of the temporal encoder (L_t). */
  numTemporalLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  numLabels: number;
  layerNormEps: number;
  hiddenDropoutProb: number;
  qkvBias: boolean;
}

const base = { numChannels: 3, layerNormEps: 1e-6, hiddenDropoutProb: 0, qkvBias: true } as const;

/**
 * ViViT-B (Table 6: 16x16x2 tubelets, 32 frames of 224x224, Kinetics-400), the factorised
 * encoder's ViViT-B with L_t = 4, and small models for 32x32 moving digits.
 */
export const vivitPresets: Record<string, ViViTConfig> = {
  "vivit-b-16x2-kinetics400": {
    ...base, model: 1, numFrames: 32, imageSize: 224, tubeletSize: [2, 16, 16], hiddenSize: 768, numHiddenLayers: 12,
    numTemporalLayers: 0, numAttentionHeads: 12, intermediateSize: 3072, numLabels: 400,
  },
  "vivit-b-fe-16x2-kinetics400": {
    ...base, model: 2, numFrames: 32, imageSize: 224, tubeletSize: [2, 16, 16], hiddenSize: 768, numHiddenLayers: 12,
    numTemporalLayers: 4, numAttentionHeads: 12, intermediateSize: 3072, numLabels: 400,
  },
  ...Object.fromEntries(([1, 2, 3, 4] as const).map((m) => [`vivit-${m}-digits`, {
    ...base, model: m, numFrames: 8, imageSize: 32, numChannels: 1, tubeletSize: [2, 8, 8] as [number, number, number],
    hiddenSize: 64, numHiddenLayers: m === 2 ? 3 : 3, numTemporalLayers: m === 2 ? 2 : 0, numAttentionHeads: 4,
    intermediateSize: 128, numLabels: 40,
  }])),
};

/** The grid of tokens a config produces: nt x nh x nw. */
export function tubeletGrid(config: Pick<ViViTConfig, "numFrames" | "imageSize" | "tubeletSize">): { nt: number; nh: number; nw: number; ns: number } {
  const [t, h, w] = config.tubeletSize;
  if (!(t >= 1 && h >= 1 && w >= 1)) throw new RangeError(`ViViT: tubelet size must be positive, got [${config.tubeletSize.join(", ")}]`);
  if (config.numFrames < t) {
    throw new RangeError(`ViViT: a clip of ${config.numFrames} frames is shorter than the tubelet depth ${t}`);
  }
  if (config.numFrames % t !== 0) throw new RangeError(`ViViT: ${config.numFrames} frames do not divide into tubelets of depth ${t}`);
  if (config.imageSize % h !== 0 || config.imageSize % w !== 0) {
    throw new RangeError(`ViViT: frame size ${config.imageSize}x${config.imageSize} does not divide into ${h}x${w} patches`);
  }
  const nt = config.numFrames / t, nh = config.imageSize / h, nw = config.imageSize / w;
  return { nt, nh, nw, ns: nh * nw };
}

/** The block's attention and MLP reuse ViT's modules (same names, same fused attention). */
export function vitConfigOf(c: ViViTConfig | { hiddenSize: number; numAttentionHeads: number; intermediateSize: number; layerNormEps: number; hiddenDropoutProb: number; qkvBias: boolean; numChannels: number; numLabels: number }): ViTConfig {
  return {
    imageSize: 0, patchSize: 1, numChannels: c.numChannels, hiddenSize: c.hiddenSize, numHiddenLayers: 0,
    numAttentionHeads: c.numAttentionHeads, intermediateSize: c.intermediateSize, numLabels: c.numLabels,
    layerNormEps: c.layerNormEps, hiddenDropoutProb: c.hiddenDropoutProb, attentionProbsDropoutProb: 0, qkvBias: c.qkvBias,
  };
}

/** Check a clip's shape against what the model was built for; the message names both. */
export function checkClip(model: string, video: Tensor, numFrames: number, numChannels: number, imageSize: number, depth = 1): void {
  const [, T, C, H, W] = video.shape;
  if (video.ndim !== 5) throw new RangeError(`${model}: expected a clip [B, T, C, H, W], got ${formatShape(video.shape)}`);
  if (T < depth) throw new RangeError(`${model}: the clip has ${T} frames, fewer than the tubelet depth ${depth}`);
  if (T !== numFrames || C !== numChannels || H !== imageSize || W !== imageSize) {
    throw new RangeError(`${model}: expected a clip [B, ${numFrames}, ${numChannels}, ${imageSize}, ${imageSize}], got ${formatShape(video.shape)}`);
  }
}

/**
 * Tubelet embedding (section 3.2, fig. 3): a Conv3d with kernel = stride = [t, h, w], computed
 * as im2col over [B, C, T, H, W] and one GEMM straight into [B, nt*nh*nw, D].
 */
export class TubeletEmbeddings extends Module {
  projection: Conv3d;

  constructor(readonly numChannels: number, readonly hiddenSize: number, readonly tubeletSize: [number, number, number]) {
    super();
    this.projection = new Conv3d(numChannels, hiddenSize, tubeletSize, { stride: tubeletSize });
  }

  /** [B, T, C, H, W] -> [B, nt*nh*nw, D], tokens in (t, h, w) row-major order. */
  forward(video: Tensor): Tensor {
    const [t, h, w] = this.tubeletSize;
    const [B, T, C, H, W] = video.shape;
    if (video.ndim !== 5 || C !== this.numChannels) {
      throw new RangeError(`tubelet embedding: expected a clip [B, T, ${this.numChannels}, H, W], got ${formatShape(video.shape)}`);
    }
    if (T < t) throw new RangeError(`tubelet embedding: the clip has ${T} frames, fewer than the tubelet depth ${t}`);
    if (T % t !== 0 || H % h !== 0 || W % w !== 0) {
      throw new RangeError(`tubelet embedding: a clip of ${T} frames of ${H}x${W} does not divide into ${t}x${h}x${w} tubelets`);
    }
    const x = C === 1 ? reshape(video, [B, 1, T, H, W]) : permute(video, [0, 2, 1, 3, 4]); // [B, C, T, H, W]
    const cols = unfold(x, this.tubeletSize, { stride: this.tubeletSize }); // [B, C*t*h*w, N]
    const weight = reshape(this.projection.weight, [this.hiddenSize, C * t * h * w]); // [D, C*t*h*w]
    return add(matmulT(cols, weight, true, true), this.projection.bias!); // [B, N, D]
  }
}

/** Eq. 2-3 of ViT: z' = MSA(LN(z)) + z; z = MLP(LN(z')) + z' (Model 1, both encoders of Model 2). */
export class ViViTLayer extends Module {
  attention: ViTAttention;
  intermediate: ViTIntermediate;
  output: ViTOutput;
  layernorm_before: LayerNorm;
  layernorm_after: LayerNorm;

  constructor(config: ViViTConfig) {
    super();
    const vc = vitConfigOf(config);
    this.attention = new ViTAttention(vc);
    this.intermediate = new ViTIntermediate(vc);
    this.output = new ViTOutput(vc);
    this.layernorm_before = new LayerNorm(config.hiddenSize, config.layerNormEps);
    this.layernorm_after = new LayerNorm(config.hiddenSize, config.layerNormEps);
  }

  forward(z: Tensor): Tensor {
    const z1 = add(this.attention.forward(this.layernorm_before.forward(z)), z);
    return add(this.output.forward(this.intermediate.forward(this.layernorm_after.forward(z1))), z1);
  }
}

/** [B, nt*ns, D] -> [B*ns, nt, D]: one sequence per spatial location, over time. */
export function toTemporal(x: Tensor, nt: number, ns: number): Tensor {
  const [B, , D] = x.shape;
  return reshape(permute(reshape(x, [B, nt, ns, D]), [0, 2, 1, 3]), [B * ns, nt, D]);
}

/** [B*ns, nt, D] -> [B, nt*ns, D], the inverse of toTemporal. */
export function fromTemporal(x: Tensor, nt: number, ns: number): Tensor {
  const D = x.shape[2], B = x.shape[0] / ns;
  return reshape(permute(reshape(x, [B, ns, nt, D]), [0, 2, 1, 3]), [B, nt * ns, D]);
}

/**
 * Model 3's block (eq. 7): y_s = MSA_s(LN(z)) + z over the tokens of each temporal index,
 * y_t = MSA_t(LN(y_s)) + y_s over the tokens of each spatial location, z' = MLP(LN(y_t)) + y_t.
 */
export class ViViTFactorisedSelfAttentionLayer extends Module {
  attention: ViTAttention;
  temporal_attention: ViTAttention;
  intermediate: ViTIntermediate;
  output: ViTOutput;
  layernorm_before: LayerNorm;
  temporal_layernorm: LayerNorm;
  layernorm_after: LayerNorm;

  constructor(config: ViViTConfig, readonly nt: number, readonly ns: number) {
    super();
    const vc = vitConfigOf(config);
    this.attention = new ViTAttention(vc);
    this.temporal_attention = new ViTAttention(vc);
    this.intermediate = new ViTIntermediate(vc);
    this.output = new ViTOutput(vc);
    this.layernorm_before = new LayerNorm(config.hiddenSize, config.layerNormEps);
    this.temporal_layernorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
    this.layernorm_after = new LayerNorm(config.hiddenSize, config.layerNormEps);
  }

  /** z [B, nt*ns, D] -> [B, nt*ns, D] */
  forward(z: Tensor): Tensor {
    const { nt, ns } = this;
    const [B, N, D] = z.shape;
    const spatial = reshape(z, [B * nt, ns, D]); // each temporal index is one sequence
    const ys = add(this.attention.forward(this.layernorm_before.forward(spatial)), spatial); // [B*nt, ns, D]
    const temporal = toTemporal(reshape(ys, [B, N, D]), nt, ns); // [B*ns, nt, D]
    const yt = fromTemporal(add(this.temporal_attention.forward(this.temporal_layernorm.forward(temporal)), temporal), nt, ns);
    return add(this.output.forward(this.intermediate.forward(this.layernorm_after.forward(yt))), yt);
  }
}

/**
 * Model 4's attention (eq. 8-9): the first H/2 heads attend over space (keys and values of the
 * same temporal index), the other H/2 over time (same spatial location); Y = Concat(Y_s, Y_t) W_O.
 * The projections are ViT's query/key/value/output, so the parameter names are ViT's.
 */
export class ViViTFactorisedDotProductAttention extends Module {
  attention: ViTSelfAttention;
  output: ViTSelfOutput;
  private readonly heads: number;

  constructor(config: ViViTConfig, readonly nt: number, readonly ns: number) {
    super();
    if (config.numAttentionHeads % 2 !== 0) {
      throw new RangeError(`ViViT model 4: needs an even number of heads (half over space, half over time), got ${config.numAttentionHeads}`);
    }
    this.heads = config.numAttentionHeads;
    // reuse ViT's modules for the names: attention.{query,key,value}, output.dense
    const vit = new ViTAttention(vitConfigOf(config));
    this.attention = vit.attention;
    this.output = vit.output;
  }

  forward(x: Tensor): Tensor {
    const { nt, ns, heads } = this;
    const [B, N, D] = x.shape;
    const half = D / 2;
    const q = this.attention.query.forward(x), k = this.attention.key.forward(x), v = this.attention.value.forward(x); // [B, N, D]
    // heads 0..H/2-1: columns [0, D/2), one sequence per temporal index: [B*nt, ns, D/2]
    const sp = (t: Tensor): Tensor => reshape(narrow(t, 2, 0, half), [B * nt, ns, half]);
    const ys = reshape(multiHeadAttentionFused(sp(q), sp(k), sp(v), heads / 2), [B, N, half]);
    // heads H/2..H-1: columns [D/2, D), one sequence per spatial location: [B*ns, nt, D/2]
    const tm = (t: Tensor): Tensor => toTemporal(narrow(t, 2, half, half), nt, ns);
    const yt = fromTemporal(multiHeadAttentionFused(tm(q), tm(k), tm(v), heads / 2), nt, ns); // [B, N, D/2]
    return this.output.forward(cat([ys, yt], 2)); // [B, N, D]
  }
}

/** Model 4's block: ViT's block with the factorised dot-product attention. */
export class ViViTFactorisedDotProductLayer extends Module {
  attention: ViViTFactorisedDotProductAttention;
  intermediate: ViTIntermediate;
  output: ViTOutput;
  layernorm_before: LayerNorm;
  layernorm_after: LayerNorm;

  constructor(config: ViViTConfig, nt: number, ns: number) {
    super();
    const vc = vitConfigOf(config);
    this.attention = new ViViTFactorisedDotProductAttention(config, nt, ns);
    this.intermediate = new ViTIntermediate(vc);
    this.output = new ViTOutput(vc);
    this.layernorm_before = new LayerNorm(config.hiddenSize, config.layerNormEps);
    this.layernorm_after = new LayerNorm(config.hiddenSize, config.layerNormEps);
  }

  forward(z: Tensor): Tensor {
    const z1 = add(this.attention.forward(this.layernorm_before.forward(z)), z);
    return add(this.output.forward(this.intermediate.forward(this.layernorm_after.forward(z1))), z1);
  }
}

/** A stack of layers under Hugging Face's name `encoder.layer.N`. */
export class VideoEncoder<L extends Module & { forward(x: Tensor): Tensor }> extends Module {
  layer: ModuleList<L>;
  constructor(layers: L[]) {
    super();
    this.layer = new ModuleList(layers);
  }
  forward(x: Tensor): Tensor {
    for (const l of this.layer) x = l.forward(x);
    return x;
  }
}

/** Tubelet tokens, plus a [CLS] token for Models 1 and 2, plus learned positions. */
export class ViViTEmbeddings extends Module {
  cls_token: Parameter | null = null;
  position_embeddings: Parameter;
  patch_embeddings: TubeletEmbeddings;
  dropout: Dropout;

  constructor(readonly config: ViViTConfig) {
    super();
    const D = config.hiddenSize;
    const { nt, ns } = tubeletGrid(config);
    this.patch_embeddings = new TubeletEmbeddings(config.numChannels, D, config.tubeletSize);
    const withCls = config.model === 1 || config.model === 2;
    // Model 2's spatial encoder sees one temporal index at a time, so its positions are spatial
    const numPositions = (config.model === 2 ? ns : nt * ns) + (withCls ? 1 : 0);
    if (withCls) {
      this.cls_token = new Parameter(new Float32Array(D), [1, 1, D]);
      truncNormal_(this.cls_token, 0, 0.02);
    }
    this.position_embeddings = new Parameter(new Float32Array(numPositions * D), [1, numPositions, D]);
    truncNormal_(this.position_embeddings, 0, 0.02);
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }

  /** [B, T, C, H, W] -> Model 1: [B, 1+N, D]; Model 2: [B*nt, 1+ns, D]; Models 3, 4: [B, N, D] */
  forward(video: Tensor): Tensor {
    const c = this.config;
    checkClip("ViViT", video, c.numFrames, c.numChannels, c.imageSize, c.tubeletSize[0]);
    const { nt, ns } = tubeletGrid(c);
    let x = this.patch_embeddings.forward(video); // [B, nt*ns, D]
    const [B, , D] = x.shape;
    if (c.model === 2) x = reshape(x, [B * nt, ns, D]);
    if (this.cls_token) x = cat([expand(this.cls_token, [x.shape[0], 1, D]), x], 1);
    return this.dropout.forward(add(x, this.position_embeddings));
  }
}

export class ViViTModel extends Module {
  embeddings: ViViTEmbeddings;
  encoder: VideoEncoder<Module & { forward(x: Tensor): Tensor }>;
  layernorm: LayerNorm;
  // Model 2's temporal Transformer over the frames' [CLS] outputs
  temporal_cls_token: Parameter | null = null;
  temporal_position_embeddings: Parameter | null = null;
  temporal_encoder: VideoEncoder<ViViTLayer> | null = null;
  temporal_layernorm: LayerNorm | null = null;
  readonly nt: number;
  readonly ns: number;

  constructor(readonly config: ViViTConfig) {
    super();
    const { nt, ns } = tubeletGrid(config);
    this.nt = nt;
    this.ns = ns;
    if (![1, 2, 3, 4].includes(config.model)) throw new RangeError(`ViViT: model must be 1, 2, 3 or 4, got ${config.model}`);
    this.embeddings = new ViViTEmbeddings(config);
    const L = config.numHiddenLayers;
    const layer = (): Module & { forward(x: Tensor): Tensor } =>
      config.model === 3 ? new ViViTFactorisedSelfAttentionLayer(config, nt, ns)
        : config.model === 4 ? new ViViTFactorisedDotProductLayer(config, nt, ns)
          : new ViViTLayer(config);
    this.encoder = new VideoEncoder(Array.from({ length: L }, layer));
    this.layernorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
    if (config.model === 2) {
      const D = config.hiddenSize;
      if (!(config.numTemporalLayers >= 1)) throw new RangeError(`ViViT model 2: numTemporalLayers must be >= 1, got ${config.numTemporalLayers}`);
      this.temporal_cls_token = new Parameter(new Float32Array(D), [1, 1, D]);
      this.temporal_position_embeddings = new Parameter(new Float32Array((nt + 1) * D), [1, nt + 1, D]);
      truncNormal_(this.temporal_cls_token, 0, 0.02);
      truncNormal_(this.temporal_position_embeddings, 0, 0.02);
      this.temporal_encoder = new VideoEncoder(Array.from({ length: config.numTemporalLayers }, () => new ViViTLayer(config)));
      this.temporal_layernorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
    }
    initVideoWeights(this);
  }

  /** [B, T, C, H, W] -> the clip's representation [B, D] (the [CLS] output or the token mean). */
  forward(video: Tensor): { pooled: Tensor; lastHiddenState: Tensor } {
    const c = this.config;
    const B = video.shape[0], D = c.hiddenSize;
    let x = this.embeddings.forward(video);
    x = this.layernorm.forward(this.encoder.forward(x));
    if (c.model === 1) return { pooled: reshape(narrow(x, 1, 0, 1), [B, D]), lastHiddenState: x };
    if (c.model === 3 || c.model === 4) return { pooled: mean(x, 1), lastHiddenState: x }; // [B, N, D] -> [B, D]
    // Model 2: the spatial encoder's [CLS] per temporal index, then the temporal encoder
    const frames = reshape(narrow(x, 1, 0, 1), [B, this.nt, D]); // [B*nt, 1, D] -> [B, nt, D]
    let h = add(cat([expand(this.temporal_cls_token!, [B, 1, D]), frames], 1), this.temporal_position_embeddings!); // [B, nt+1, D]
    h = this.temporal_layernorm!.forward(this.temporal_encoder!.forward(h));
    return { pooled: reshape(narrow(h, 1, 0, 1), [B, D]), lastHiddenState: h };
  }
}

export class ViViTForVideoClassification extends Module {
  vivit: ViViTModel;
  classifier: Linear;

  constructor(readonly config: ViViTConfig) {
    super();
    this.vivit = new ViViTModel(config);
    this.classifier = new Linear(config.hiddenSize, config.numLabels);
    initVideoWeights(this.classifier);
  }

  /** [B, T, C, H, W] -> logits [B, numLabels] */
  forward(video: Tensor): { logits: Tensor } {
    return { logits: this.classifier.forward(this.vivit.forward(video).pooled) };
  }
}

/** Hugging Face's ViT init: truncated normal(0.02) for linear and conv weights, zero biases. */
export function initVideoWeights(root: Module): void {
  for (const m of root.modules()) {
    if (m instanceof Linear || m instanceof Conv3d) {
      truncNormal_(m.weight, 0, 0.02);
      if (m.bias) zeros_(m.bias);
    } else if (m instanceof LayerNorm) {
      if (m.weight) ones_(m.weight);
      if (m.bias) zeros_(m.bias);
    }
  }
}

// --- starting from an image ViT (section 3.4) ---------------------------------------------------

export interface FromViTOptions {
  /**
   * How the 2-D patch kernel becomes a t x h x w tubelet kernel: "central-frame" puts it at the
   * central frame floor(t/2) and zeros elsewhere (the paper's choice: the model starts as uniform
   * frame sampling); "inflate" repeats it over t and divides by t (I3D's filter inflation).
   */
  tubeletInit?: "central-frame" | "inflate";
}

/** A ViT state dict with or without the `vit.` prefix of ViTForImageClassification. */
export function vitTensors(sd: Record<string, Tensor>): { get(name: string): Tensor; has(name: string): boolean } {
  const prefixed = Object.keys(sd).some((k) => k.startsWith("vit."));
  const key = (n: string): string => (prefixed && n !== "classifier.weight" && n !== "classifier.bias" ? `vit.${n}` : n);
  return {
    has: (n) => key(n) in sd,
    get: (n) => {
      const t = sd[key(n)];
      if (!t) throw new Error(`from ViT: the image checkpoint has no tensor "${key(n)}"`);
      return t;
    },
  };
}

function copyInto(dst: Tensor, src: Tensor, name: string): void {
  if (dst.numel !== src.numel || dst.shape.length !== src.shape.length || dst.shape.some((s, i) => s !== src.shape[i])) {
    throw new RangeError(`from ViT: ${name} is ${formatShape(src.shape)} in the image checkpoint, the video model needs ${formatShape(dst.shape)}`);
  }
  dst.data.set(src.data);
}

/** Copy a ViT layer's tensors (ViT names) into a module with the same names. */
function copyLayer(vit: ReturnType<typeof vitTensors>, i: number, dst: Module, skip: (n: string) => boolean = () => false): void {
  for (const [n, p] of dst.namedParameters()) {
    if (skip(n)) continue;
    copyInto(p, vit.get(`encoder.layer.${i}.${n}`), `encoder.layer.${i}.${n}`);
  }
}

/**
 * A ViViT initialised from a ViT image classifier (or ViTModel) state dict with Hugging Face's
 * names, as section 3.4 describes: the tubelet kernel from the patch kernel (central frame or
 * inflated), position embeddings repeated over the nt temporal indices, every encoder layer
 * from the ViT's (Model 2: the spatial encoder; its temporal encoder stays random), and
 * Model 3's temporal attention output set to zero so that each block starts as a residual connection
 * around it (its output projection zero), i.e. as the image model applied to each frame. The classifier is copied when the
 * label count matches. The ViT must have the same width, heads, MLP size and patch grid.
 */
export function vivitFromViT(vitState: Record<string, Tensor>, config: ViViTConfig, options: FromViTOptions = {}): ViViTForVideoClassification {
  const vit = vitTensors(vitState);
  const model = new ViViTForVideoClassification(config);
  const m = model.vivit, emb = m.embeddings;
  const [t, h, w] = config.tubeletSize;
  const { nt, ns } = tubeletGrid(config);
  const D = config.hiddenSize, C = config.numChannels;

  // tubelet kernel [D, C, t, h, w] from the patch kernel [D, C, h, w]
  const k2 = vit.get("embeddings.patch_embeddings.projection.weight");
  if (k2.ndim !== 4 || k2.shape[0] !== D || k2.shape[1] !== C || k2.shape[2] !== h || k2.shape[3] !== w) {
    throw new RangeError(`from ViT: embeddings.patch_embeddings.projection.weight is ${formatShape(k2.shape)}, the tubelets need [${D}, ${C}, ${h}, ${w}]`);
  }
  const k3 = emb.patch_embeddings.projection.weight.data;
  const mode = options.tubeletInit ?? "central-frame";
  const hw = h * w, centre = Math.floor(t / 2);
  k3.fill(0);
  for (let dc = 0; dc < D * C; dc++) {
    for (let tt = 0; tt < t; tt++) {
      if (mode === "central-frame" && tt !== centre) continue;
      const scale = mode === "inflate" ? 1 / t : 1;
      for (let j = 0; j < hw; j++) k3[(dc * t + tt) * hw + j] = k2.data[dc * hw + j] * scale;
    }
  }
  copyInto(emb.patch_embeddings.projection.bias!, vit.get("embeddings.patch_embeddings.projection.bias"), "embeddings.patch_embeddings.projection.bias");

  // positions: ViT's [1, 1+ns, D]; the video tokens repeat the spatial ones over nt
  const pos = vit.get("embeddings.position_embeddings");
  if (pos.ndim !== 3 || pos.shape[1] !== ns + 1 || pos.shape[2] !== D) {
    throw new RangeError(`from ViT: embeddings.position_embeddings is ${formatShape(pos.shape)}, a ${config.imageSize}x${config.imageSize} frame in ${h}x${w} patches needs [1, ${ns + 1}, ${D}]`);
  }
  const dst = emb.position_embeddings.data, src = pos.data;
  if (config.model === 2) dst.set(src);
  else {
    const withCls = config.model === 1 ? 1 : 0;
    if (withCls) dst.set(src.subarray(0, D), 0);
    for (let i = 0; i < nt; i++) dst.set(src.subarray(D, (ns + 1) * D), (withCls + i * ns) * D);
  }
  if (emb.cls_token) copyInto(emb.cls_token, vit.get("embeddings.cls_token"), "embeddings.cls_token");

  let L = 0;
  while (vit.has(`encoder.layer.${L}.layernorm_before.weight`)) L++;
  if (L < config.numHiddenLayers) throw new RangeError(`from ViT: the image checkpoint has ${L} layers, the video model needs ${config.numHiddenLayers}`);
  [...m.encoder.layer].forEach((layer, i) => {
    copyLayer(vit, i, layer, (n) => n.startsWith("temporal_"));
    if (layer instanceof ViViTFactorisedSelfAttentionLayer) {
      // Section 3.4 zeroes the temporal MSA "such that eq. 5 behaves as a residual connection at
      // initialisation". Zeroing its output projection is enough for that; zeroing query, key
      // and value too would be a stationary point (every temporal gradient would stay zero).
      zeros_(layer.temporal_attention.output.dense.weight);
      zeros_(layer.temporal_attention.output.dense.bias!);
    }
  });
  copyInto(m.layernorm.weight!, vit.get("layernorm.weight"), "layernorm.weight");
  copyInto(m.layernorm.bias!, vit.get("layernorm.bias"), "layernorm.bias");
  if (vit.has("classifier.weight") && vit.get("classifier.weight").shape[0] === config.numLabels) {
    copyInto(model.classifier.weight, vit.get("classifier.weight"), "classifier.weight");
    copyInto(model.classifier.bias!, vit.get("classifier.bias"), "classifier.bias");
  }
  return model;
}
