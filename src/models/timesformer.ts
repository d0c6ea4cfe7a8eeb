// TimeSformer: "Is Space-Time Attention All You Need for Video Understanding?" (Bertasius et
// al. 2021).
//
// Each of the T frames is cut into N = HW/P^2 patches and embedded as ViT does (eq. 1), with a
// learned position per patch and a learned embedding per frame; one [CLS] token represents the
// clip. The paper compares where each patch looks (section 3, fig. 2):
//
//   space_only          (S)     patches of its own frame; the clip is the mean over frames
//   joint_space_time    (ST)    all T*N patches
//   divided_space_time  (T+S)   first the patches at the same position in the other frames
//                               (temporal attention), then the patches of its own frame
//                               (spatial attention), each with its own residual (eq. 6-8)
//
// Parameter names follow Hugging Face's TimesformerForVideoClassification: one fused `qkv`
// projection per attention, `temporal_layernorm`, `temporal_attention`, `temporal_dense` (the
// original code's temporal_fc), so `timesformerFromViT` can start it from a ViT image model.
// Patch tokens are kept frame-major: [B, T*N, D] is [B, T, N, D] flattened.

import { Conv2d, Dropout, LayerNorm, Linear } from "../nn/layers.js";
import { truncNormal_, zeros_ } from "../nn/init.js";
import { Module, Parameter } from "../nn/module.js";
import { multiHeadAttentionFused } from "../ops/attention.js";
import { add } from "../ops/elementwise.js";
import { matmulT } from "../ops/matmul.js";
import { mean } from "../ops/reduce.js";
import { cat, expand, narrow, reshape, unfold } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { ViTIntermediate, ViTOutput } from "./vit.js";
import { checkClip, fromTemporal, initVideoWeights, toTemporal, VideoEncoder, vitConfigOf, vitTensors } from "./vivit.js";

export type TimesformerAttentionType = "divided_space_time" | "joint_space_time" | "space_only";

export interface TimesformerConfig {
  attentionType: TimesformerAttentionType;
  numFrames: number;
  imageSize: number;
  patchSize: number;
  numChannels: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  numLabels: number;
  layerNormEps: number;
  hiddenDropoutProb: number;
  qkvBias: boolean;
}

const base = { numChannels: 3, layerNormEps: 1e-6, hiddenDropoutProb: 0, qkvBias: true } as const;

/** TimeSformer (ViT-B, 8 frames of 224x224, Kinetics-400) and small models for 4 frames of 32x32 moving digits. */
export const timesformerPresets: Record<string, TimesformerConfig> = {
  "timesformer-base-finetuned-k400": {
    ...base, attentionType: "divided_space_time", numFrames: 8, imageSize: 224, patchSize: 16, hiddenSize: 768,
    numHiddenLayers: 12, numAttentionHeads: 12, intermediateSize: 3072, numLabels: 400,
  },
  ...Object.fromEntries((["divided_space_time", "joint_space_time", "space_only"] as const).map((a) => [
    `timesformer-${a.split("_")[0]}-digits`,
    { ...base, attentionType: a, numFrames: 4, imageSize: 32, patchSize: 8, numChannels: 1, hiddenSize: 64, numHiddenLayers: 3, numAttentionHeads: 4, intermediateSize: 128, numLabels: 40 },
  ])),
};

/** ViT's patch embedding applied to every frame: [B, T, C, H, W] -> [B, T*N, D]. */
export class FramePatchEmbeddings extends Module {
  projection: Conv2d;
  constructor(readonly numChannels: number, readonly hiddenSize: number, readonly patchSize: number) {
    super();
    this.projection = new Conv2d(numChannels, hiddenSize, patchSize, { stride: patchSize });
  }
  forward(video: Tensor): Tensor {
    const [B, T, C, H, W] = video.shape;
    const P = this.patchSize, D = this.hiddenSize;
    if (H % P !== 0 || W % P !== 0) throw new RangeError(`TimeSformer: frame size ${H}x${W} does not divide into ${P}x${P} patches`);
    const cols = unfold(reshape(video, [B * T, C, H, W]), P, { stride: P }); // [B*T, C*P*P, N]
    const w = reshape(this.projection.weight, [D, C * P * P]);
    const x = add(matmulT(cols, w, true, true), this.projection.bias!); // [B*T, N, D]
    return reshape(x, [B, T * x.shape[1], D]);
  }
}

export class TimesformerEmbeddings extends Module {
  cls_token: Parameter;
  position_embeddings: Parameter;
  time_embeddings: Parameter | null = null;
  patch_embeddings: FramePatchEmbeddings;
  dropout: Dropout;
  readonly numPatches: number;

  constructor(readonly config: TimesformerConfig) {
    super();
    const { imageSize, patchSize, hiddenSize: D, numFrames } = config;
    if (imageSize % patchSize !== 0) throw new RangeError(`TimeSformer: frame size ${imageSize}x${imageSize} does not divide into ${patchSize}x${patchSize} patches`);
    const N = (this.numPatches = (imageSize / patchSize) ** 2);
    this.patch_embeddings = new FramePatchEmbeddings(config.numChannels, D, patchSize);
    this.cls_token = new Parameter(new Float32Array(D), [1, 1, D]);
    this.position_embeddings = new Parameter(new Float32Array((N + 1) * D), [1, N + 1, D]);
    truncNormal_(this.cls_token, 0, 0.02);
    truncNormal_(this.position_embeddings, 0, 0.02);
    // the space-only model sees no time at all: a bag of frames
    if (config.attentionType !== "space_only") this.time_embeddings = new Parameter(new Float32Array(numFrames * D), [1, numFrames, D]);
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }

  /** space_only: [B*T, 1+N, D] (one sequence per frame); otherwise [B, 1+T*N, D]. */
  forward(video: Tensor): Tensor {
    const c = this.config, N = this.numPatches, D = c.hiddenSize, T = c.numFrames;
    checkClip("TimeSformer", video, T, c.numChannels, c.imageSize);
    const B = video.shape[0];
    const patches = this.patch_embeddings.forward(video); // [B, T*N, D]
    if (c.attentionType === "space_only") {
      const x = cat([expand(this.cls_token, [B * T, 1, D]), reshape(patches, [B * T, N, D])], 1); // [B*T, 1+N, D]
      return this.dropout.forward(add(x, this.position_embeddings));
    }
    // x_(p,t) + e^pos_p + e^time_t (eq. 1): [B, T, N, D] + [1, 1, N, D] + [1, T, 1, D]
    const pos = reshape(narrow(this.position_embeddings, 1, 1, N), [1, 1, N, D]);
    const time = reshape(this.time_embeddings!, [1, T, 1, D]);
    const x = reshape(add(add(reshape(patches, [B, T, N, D]), pos), time), [B, T * N, D]);
    const cls = expand(add(this.cls_token, narrow(this.position_embeddings, 1, 0, 1)), [B, 1, D]);
    return this.dropout.forward(cat([cls, x], 1)); // [B, 1+T*N, D]
  }
}

/** Multi-head self-attention with one fused projection to [q | k | v] (HF's `qkv`). */
export class TimesformerSelfAttention extends Module {
  qkv: Linear;
  constructor(readonly hiddenSize: number, readonly numHeads: number, qkvBias: boolean) {
    super();
    if (hiddenSize % numHeads !== 0) throw new RangeError(`TimeSformer: hidden size ${hiddenSize} is not divisible by ${numHeads} heads`);
    this.qkv = new Linear(hiddenSize, 3 * hiddenSize, { bias: qkvBias });
  }
  forward(x: Tensor): Tensor {
    const D = this.hiddenSize;
    const qkv = this.qkv.forward(x); // [B, T, 3D]
    return multiHeadAttentionFused(narrow(qkv, 2, 0, D), narrow(qkv, 2, D, D), narrow(qkv, 2, 2 * D, D), this.numHeads);
  }
}

export class TimesformerSelfOutput extends Module {
  dense: Linear;
  dropout: Dropout;
  constructor(config: TimesformerConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }
  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.dense.forward(x));
  }
}

export class TimesformerAttention extends Module {
  attention: TimesformerSelfAttention;
  output: TimesformerSelfOutput;
  constructor(config: TimesformerConfig) {
    super();
    this.attention = new TimesformerSelfAttention(config.hiddenSize, config.numAttentionHeads, config.qkvBias);
    this.output = new TimesformerSelfOutput(config);
  }
  forward(x: Tensor): Tensor {
    return this.output.forward(this.attention.forward(x));
  }
}

export class TimesformerLayer extends Module {
  attention: TimesformerAttention;
  intermediate: ViTIntermediate;
  output: ViTOutput;
  layernorm_before: LayerNorm;
  layernorm_after: LayerNorm;
  temporal_layernorm: LayerNorm | null = null;
  temporal_attention: TimesformerAttention | null = null;
  temporal_dense: Linear | null = null;

  constructor(readonly config: TimesformerConfig, readonly numPatches: number) {
    super();
    const vc = vitConfigOf(config);
    this.attention = new TimesformerAttention(config);
    this.intermediate = new ViTIntermediate(vc);
    this.output = new ViTOutput(vc);
    this.layernorm_before = new LayerNorm(config.hiddenSize, config.layerNormEps);
    this.layernorm_after = new LayerNorm(config.hiddenSize, config.layerNormEps);
    if (config.attentionType === "divided_space_time") {
      this.temporal_layernorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
      this.temporal_attention = new TimesformerAttention(config);
      this.temporal_dense = new Linear(config.hiddenSize, config.hiddenSize);
    }
  }

  forward(z: Tensor): Tensor {
    if (this.config.attentionType !== "divided_space_time") {
      // S and ST: the standard block over whatever sequence it is given (eq. 3-5)
      const z1 = add(this.attention.forward(this.layernorm_before.forward(z)), z);
      return add(this.output.forward(this.intermediate.forward(this.layernorm_after.forward(z1))), z1);
    }
    const T = this.config.numFrames, N = this.numPatches;
    const [B, , D] = z.shape;
    const cls = narrow(z, 1, 0, 1); // [B, 1, D]
    const patches = narrow(z, 1, 1, T * N); // [B, T*N, D]
    // eq. 6, temporal attention: each patch position across the T frames: [B*N, T, D]
    const temporal = toTemporal(patches, T, N);
    const rt = this.temporal_dense!.forward(this.temporal_attention!.forward(this.temporal_layernorm!.forward(temporal)));
    const zt = add(patches, fromTemporal(rt, T, N)); // [B, T*N, D]
    // eq. 7, spatial attention: each frame's patches with a copy of the [CLS] token: [B*T, 1+N, D]
    const spatial = cat([reshape(expand(cls, [B, T, D]), [B * T, 1, D]), reshape(zt, [B * T, N, D])], 1);
    const rs = this.attention.forward(this.layernorm_before.forward(spatial)); // [B*T, 1+N, D]
    // the [CLS] copies' updates are averaged over the frames (as the reference code does)
    const rsCls = mean(reshape(narrow(rs, 1, 0, 1), [B, T, D]), 1, true); // [B, 1, D]
    const rsPatches = reshape(narrow(rs, 1, 1, N), [B, T * N, D]);
    const z1 = add(cat([cls, zt], 1), cat([rsCls, rsPatches], 1)); // [B, 1+T*N, D]
    // eq. 8, the MLP
    return add(this.output.forward(this.intermediate.forward(this.layernorm_after.forward(z1))), z1);
  }
}

export class TimesformerModel extends Module {
  embeddings: TimesformerEmbeddings;
  encoder: VideoEncoder<TimesformerLayer>;
  layernorm: LayerNorm;

  constructor(readonly config: TimesformerConfig) {
    super();
    if (!["divided_space_time", "joint_space_time", "space_only"].includes(config.attentionType)) {
      throw new RangeError(`TimeSformer: attentionType must be divided_space_time, joint_space_time or space_only, got "${config.attentionType}"`);
    }
    this.embeddings = new TimesformerEmbeddings(config);
    const N = this.embeddings.numPatches;
    this.encoder = new VideoEncoder(Array.from({ length: config.numHiddenLayers }, () => new TimesformerLayer(config, N)));
    this.layernorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
    initVideoWeights(this);
  }

  /** [B, T, C, H, W] -> the final [CLS] state [B, D] (after the last layer norm). */
  forward(video: Tensor): { pooled: Tensor; lastHiddenState: Tensor } {
    const c = this.config, B = video.shape[0], D = c.hiddenSize;
    let x = this.encoder.forward(this.embeddings.forward(video));
    if (c.attentionType === "space_only") {
      // a bag of frames: average each token over the T frames, [B*T, 1+N, D] -> [B, 1+N, D]
      x = mean(reshape(x, [B, c.numFrames, x.shape[1], D]), 1);
    }
    x = this.layernorm.forward(x);
    return { pooled: reshape(narrow(x, 1, 0, 1), [B, D]), lastHiddenState: x };
  }
}

export class TimesformerForVideoClassification extends Module {
  timesformer: TimesformerModel;
  classifier: Linear;

  constructor(readonly config: TimesformerConfig) {
    super();
    this.timesformer = new TimesformerModel(config);
    this.classifier = new Linear(config.hiddenSize, config.numLabels);
    initVideoWeights(this.classifier);
  }

  /** [B, T, C, H, W] -> logits [B, numLabels] */
  forward(video: Tensor): { logits: Tensor } {
    return { logits: this.classifier.forward(this.timesformer.forward(video).pooled) };
  }
}

function copyInto(dst: Tensor, src: Tensor, name: string): void {
  if (dst.numel !== src.numel || dst.ndim !== src.ndim || dst.shape.some((s, i) => s !== src.shape[i])) {
    throw new RangeError(`from ViT: ${name} is ${formatShape(src.shape)} in the image checkpoint, the video model needs ${formatShape(dst.shape)}`);
  }
  dst.data.set(src.data);
}

/**
 * A TimeSformer initialised from a ViT image classifier (or ViTModel) state dict with Hugging
 * Face's names, as the paper's models start from ImageNet ViT (section 4): patch embedding,
 * [CLS], spatial positions, every layer's spatial attention (query, key and value stacked into
 * qkv), MLP and norms come from the ViT; time embeddings start at zero. For divided attention
 * the temporal attention starts as a copy of the spatial one and its output projection
 * (temporal_dense) at zero, as the reference code does, so the model starts as the image model
 * applied frame by frame. The classifier is copied when the label count matches.
 */
export function timesformerFromViT(vitState: Record<string, Tensor>, config: TimesformerConfig): TimesformerForVideoClassification {
  const vit = vitTensors(vitState);
  const model = new TimesformerForVideoClassification(config);
  const m = model.timesformer, emb = m.embeddings;
  for (const n of ["cls_token", "position_embeddings", "patch_embeddings.projection.weight", "patch_embeddings.projection.bias"]) {
    copyInto(emb.stateDict()[n], vit.get(`embeddings.${n}`), `embeddings.${n}`);
  }
  if (emb.time_embeddings) zeros_(emb.time_embeddings);
  let L = 0;
  while (vit.has(`encoder.layer.${L}.layernorm_before.weight`)) L++;
  if (L < config.numHiddenLayers) throw new RangeError(`from ViT: the image checkpoint has ${L} layers, the video model needs ${config.numHiddenLayers}`);
  [...m.encoder.layer].forEach((layer, i) => {
    const get = (n: string): Tensor => vit.get(`encoder.layer.${i}.${n}`);
    const copyAttention = (dst: TimesformerAttention): void => {
      const qkv = dst.attention.qkv;
      const D = config.hiddenSize;
      for (const [j, part] of (["query", "key", "value"] as const).entries()) {
        const w = get(`attention.attention.${part}.weight`);
        if (w.shape[0] !== D || w.shape[1] !== D) throw new RangeError(`from ViT: encoder.layer.${i}.attention.attention.${part}.weight is ${formatShape(w.shape)}, the video model needs [${D}, ${D}]`);
        qkv.weight.data.set(w.data, j * D * D);
        if (qkv.bias) qkv.bias.data.set(get(`attention.attention.${part}.bias`).data, j * D);
      }
      copyInto(dst.output.dense.weight, get("attention.output.dense.weight"), `encoder.layer.${i}.attention.output.dense.weight`);
      copyInto(dst.output.dense.bias!, get("attention.output.dense.bias"), `encoder.layer.${i}.attention.output.dense.bias`);
    };
    copyAttention(layer.attention);
    for (const n of ["intermediate.dense.weight", "intermediate.dense.bias", "output.dense.weight", "output.dense.bias",
      "layernorm_before.weight", "layernorm_before.bias", "layernorm_after.weight", "layernorm_after.bias"]) {
      copyInto(layer.stateDict()[n], get(n), `encoder.layer.${i}.${n}`);
    }
    if (layer.temporal_attention) {
      copyAttention(layer.temporal_attention);
      copyInto(layer.temporal_layernorm!.weight!, get("layernorm_before.weight"), `encoder.layer.${i}.layernorm_before.weight`);
      copyInto(layer.temporal_layernorm!.bias!, get("layernorm_before.bias"), `encoder.layer.${i}.layernorm_before.bias`);
      zeros_(layer.temporal_dense!.weight);
      zeros_(layer.temporal_dense!.bias!);
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
