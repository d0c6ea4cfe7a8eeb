// The Vision Transformer: "An Image is Worth 16x16 Words" (Dosovitskiy et al. 2021).
//
// Split the image into fixed-size patches, embed each linearly (a convolution whose stride
// is the patch size), prepend a learned [CLS] token, add learned 1-D position embeddings,
// run a pre-norm Transformer encoder, and classify from the [CLS] token (eq. 1-4).
// Parameter names follow Hugging Face's ViTForImageClassification.

import { Conv2d, Dropout, LayerNorm, Linear, fusedLinear, projectWithResidual } from "../nn/layers.js";
import { ModuleList } from "../nn/containers.js";
import { truncNormal_, zeros_ } from "../nn/init.js";
import { Module, Parameter } from "../nn/module.js";
import { isRecordingAttention, multiHeadAttentionPacked, multiHeadAttentionPackedKV } from "../ops/attention.js";
import { add, gelu } from "../ops/elementwise.js";
import { expand, narrow, reshape, cat, unfold } from "../ops/shape.js";
import { matmulT } from "../ops/matmul.js";
import { resizePositionEmbeddings } from "../position/resize.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";

export interface ViTConfig {
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
  attentionProbsDropoutProb: number;
  qkvBias: boolean;
}

const base: Omit<ViTConfig, "hiddenSize" | "numHiddenLayers" | "numAttentionHeads" | "intermediateSize" | "patchSize"> = {
  imageSize: 224, numChannels: 3, numLabels: 1000, layerNormEps: 1e-12,
  hiddenDropoutProb: 0, attentionProbsDropoutProb: 0, qkvBias: true,
};

const sizes = {
  // Table 1 of the paper (Base, Large, Huge); Tiny and Small from DeiT (Touvron et al. 2021)
  tiny: { hiddenSize: 192, numHiddenLayers: 12, numAttentionHeads: 3, intermediateSize: 768 },
  small: { hiddenSize: 384, numHiddenLayers: 12, numAttentionHeads: 6, intermediateSize: 1536 },
  base: { hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12, intermediateSize: 3072 },
  large: { hiddenSize: 1024, numHiddenLayers: 24, numAttentionHeads: 16, intermediateSize: 4096 },
  huge: { hiddenSize: 1280, numHiddenLayers: 32, numAttentionHeads: 16, intermediateSize: 5120 },
};

/**
 * Named configs: `vit-{tiny,small,base,large}-patch{16,32}-224`, `vit-huge-patch{14,16,32}-224`
 * (Hugging Face's names; `vitPreset` also takes the paper's "ViT-B/16"), and `vit-mnist`, a
 * small model for 28x28 digits.
 */
export const vitPresets: Record<string, ViTConfig> = {};
for (const [name, size] of Object.entries(sizes)) {
  for (const p of name === "huge" ? [14, 16, 32] : [16, 32]) vitPresets[`vit-${name}-patch${p}-224`] = { ...base, ...size, patchSize: p };
}
vitPresets["vit-mnist"] = { ...base, imageSize: 28, numChannels: 1, numLabels: 10, patchSize: 4, hiddenSize: 64, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 128 };

const paperLetters: Record<string, string> = { ti: "tiny", s: "small", b: "base", l: "large", h: "huge" };

/** A preset by name: "vit-base-patch16-224", "vit-base/16" or the paper's "ViT-B/16". Unknown names list the known ones. */
export function vitPreset(name: string): ViTConfig {
  let key = name;
  const m = /^vit-(ti|s|b|l|h|tiny|small|base|large|huge)\/(\d+)$/i.exec(name);
  if (m) key = `vit-${paperLetters[m[1].toLowerCase()] ?? m[1].toLowerCase()}-patch${m[2]}-224`;
  const c = vitPresets[key];
  if (!c) throw new Error(`ViT: unknown preset "${name}" (known: ${Object.keys(vitPresets).join(", ")})`);
  return { ...c };
}

/**
 * Parameters of ViTForImageClassification(config), counted from the config alone, so the
 * paper's Table 1 can be checked without allocating ViT-H (632M floats).
 */
export function vitParameterCount(c: ViTConfig, options: { withHead?: boolean } = {}): number {
  const D = c.hiddenSize, M = c.intermediateSize, P = c.patchSize;
  const N = (c.imageSize / P) ** 2;
  const embeddings = c.numChannels * P * P * D + D /* projection */ + D /* [CLS] */ + (N + 1) * D /* E_pos */;
  const attention = 3 * D * D + (c.qkvBias ? 3 * D : 0) + D * D + D; // Q, K, V, output
  const mlp = D * M + M + M * D + D;
  const layer = attention + mlp + 2 * 2 * D; // + two layer norms
  const head = (options.withHead ?? true) ? D * c.numLabels + c.numLabels : 0;
  return embeddings + c.numHiddenLayers * layer + 2 * D /* final LN */ + head;
}

/** What ViTEmbeddings needs from a patch embedder: the plain linear patches, or the hybrid's CNN features. */
export interface PatchEmbedder extends Module {
  /** Patches per image at the current image size. */
  readonly numPatches: number;
  /** Side of the patch grid for a size x size image; throws, naming the sizes, when they do not fit. */
  gridSize(imageSize: number): number;
  /** Change the input resolution (the position embeddings are resized by ViTModel.setImageSize). */
  setImageSize(imageSize: number): void;
  /** [B, C, H, W] -> [B, N, D] */
  forward(pixelValues: Tensor): Tensor;
}

/** Image -> sequence of patch vectors: [B, C, H, W] -> [B, N, D] with N = HW/P^2. */
export class ViTPatchEmbeddings extends Module implements PatchEmbedder {
  projection: Conv2d;
  numPatches: number;
  imageSize: number;

  constructor(readonly config: ViTConfig) {
    super();
    const { imageSize, patchSize, numChannels, hiddenSize } = config;
    this.imageSize = imageSize;
    this.numPatches = this.gridSize(imageSize) ** 2;
    this.projection = new Conv2d(numChannels, hiddenSize, patchSize, { stride: patchSize });
  }

  gridSize(imageSize: number): number {
    const P = this.config.patchSize;
    if (!(Number.isInteger(imageSize) && imageSize > 0 && imageSize % P === 0)) {
      throw new RangeError(`ViT: image size ${imageSize} is not divisible by patch size ${P}`);
    }
    return imageSize / P;
  }

  setImageSize(imageSize: number): void {
    this.numPatches = this.gridSize(imageSize) ** 2;
    this.imageSize = imageSize;
  }

  forward(pixelValues: Tensor): Tensor {
    const { numChannels } = this.config;
    const S = this.imageSize, P = this.config.patchSize, D = this.config.hiddenSize;
    const [, C, H, W] = pixelValues.shape;
    if (pixelValues.ndim !== 4 || C !== numChannels) {
      throw new RangeError(`ViT: expected pixel values [B, ${numChannels}, ${S}, ${S}], got ${formatShape(pixelValues.shape)}`);
    }
    if (H % P !== 0 || W % P !== 0) {
      throw new RangeError(`ViT: image size ${H}x${W} is not divisible by patch size ${P} (pixel values ${formatShape(pixelValues.shape)})`);
    }
    if (H !== S || W !== S) {
      throw new RangeError(`ViT: expected pixel values [B, ${numChannels}, ${S}, ${S}], got ${formatShape(pixelValues.shape)}` +
        " (setImageSize changes the resolution, interpolating the position embeddings)");
    }
    // The convolution with stride = kernel = P is a linear map of each flattened patch:
    // patches^T W^T + b computed straight into [B, N, D] (no [B, D, N] -> [B, N, D] transpose).
    const patches = unfold(pixelValues, P, { stride: P }); // [B, C*P*P, N]
    const w = reshape(this.projection.weight, [D, numChannels * P * P]); // [D, C*P*P]
    return add(matmulT(patches, w, true, true), this.projection.bias!); // [B, N, D]
  }
}

/** Eq. 1: z0 = [x_class; x_p^1 E; ...; x_p^N E] + E_pos */
export class ViTEmbeddings<P extends PatchEmbedder = ViTPatchEmbeddings> extends Module {
  cls_token: Parameter;
  position_embeddings: Parameter;
  patch_embeddings: P;
  dropout: Dropout;

  constructor(config: ViTConfig, patchEmbeddings?: P) {
    super();
    const D = config.hiddenSize;
    this.patch_embeddings = patchEmbeddings ?? (new ViTPatchEmbeddings(config) as unknown as P);
    const N = this.patch_embeddings.numPatches;
    this.cls_token = new Parameter(new Float32Array(D), [1, 1, D]);
    this.position_embeddings = new Parameter(new Float32Array((N + 1) * D), [1, N + 1, D]);
    truncNormal_(this.cls_token, 0, 0.02);
    truncNormal_(this.position_embeddings, 0, 0.02);
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }

  forward(pixelValues: Tensor): Tensor {
    const patches = this.patch_embeddings.forward(pixelValues); // [B, N, D]
    const [B, , D] = patches.shape;
    const cls = expand(this.cls_token, [B, 1, D]);
    return this.dropout.forward(add(cat([cls, patches], 1), this.position_embeddings)); // [B, N+1, D]
  }
}

export class ViTSelfAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;

  constructor(readonly config: ViTConfig) {
    super();
    const D = config.hiddenSize;
    if (D % config.numAttentionHeads !== 0) {
      throw new RangeError(`ViT: hidden size ${D} is not divisible by ${config.numAttentionHeads} heads`);
    }
    this.query = new Linear(D, D, { bias: config.qkvBias });
    this.key = new Linear(D, D, { bias: config.qkvBias });
    this.value = new Linear(D, D, { bias: config.qkvBias });
  }

  /**
   * x [B, T, D] -> [B, T, D]. With `queries` ([B, Tq, D], some of x's rows), only those rows
   * attend (to the keys and values of every row of x) -> [B, Tq, D].
   */
  forward(x: Tensor, queries: Tensor | null = null): Tensor {
    const H = this.config.numAttentionHeads;
    if (queries) {
      const q = this.query.forward(queries); // [B, Tq, D]
      const kv = fusedLinear(x, [this.key, this.value]); // [B, T, D] -> [B, T, 2D]
      return multiHeadAttentionPackedKV(q, kv, H); // -> [B, Tq, D]
    }
    // softmax(Q K^T / sqrt(d)) V per head; q, k and v come out of one GEMM side by side
    const qkv = fusedLinear(x, [this.query, this.key, this.value]); // [B, T, D] -> [B, T, 3D]
    return multiHeadAttentionPacked(qkv, H); // -> [B, T, D]
  }
}

export class ViTSelfOutput extends Module {
  dense: Linear;
  dropout: Dropout;
  constructor(config: ViTConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }
  forward(x: Tensor, residual: Tensor | null = null): Tensor {
    return projectWithResidual((r) => this.dense.forward(x, r), this.dropout, residual);
  }
}

export class ViTAttention extends Module {
  attention: ViTSelfAttention;
  output: ViTSelfOutput;
  constructor(config: ViTConfig) {
    super();
    this.attention = new ViTSelfAttention(config);
    this.output = new ViTSelfOutput(config);
  }
  /** MSA(x) (+ residual); with `queries`, for those rows of x alone (see ViTSelfAttention) */
  forward(x: Tensor, residual: Tensor | null = null, queries: Tensor | null = null): Tensor {
    return this.output.forward(this.attention.forward(x, queries), residual);
  }
}

export class ViTIntermediate extends Module {
  dense: Linear;
  constructor(config: ViTConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.intermediateSize);
  }
  forward(x: Tensor): Tensor {
    return gelu(this.dense.forward(x));
  }
}

export class ViTOutput extends Module {
  dense: Linear;
  dropout: Dropout;
  constructor(config: ViTConfig) {
    super();
    this.dense = new Linear(config.intermediateSize, config.hiddenSize);
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }
  /** the MLP's second layer (+ residual; Hugging Face's ViTOutput takes it too) */
  forward(x: Tensor, residual: Tensor | null = null): Tensor {
    return projectWithResidual((r) => this.dense.forward(x, r), this.dropout, residual);
  }
}

/** Eq. 2-3: z' = MSA(LN(z)) + z; z = MLP(LN(z')) + z' */
export class ViTLayer extends Module {
  attention: ViTAttention;
  intermediate: ViTIntermediate;
  output: ViTOutput;
  layernorm_before: LayerNorm;
  layernorm_after: LayerNorm;

  constructor(config: ViTConfig) {
    super();
    this.attention = new ViTAttention(config);
    this.intermediate = new ViTIntermediate(config);
    this.output = new ViTOutput(config);
    this.layernorm_before = new LayerNorm(config.hiddenSize, config.layerNormEps);
    this.layernorm_after = new LayerNorm(config.hiddenSize, config.layerNormEps);
  }

  /**
   * [B, T, D] -> [B, T, D]. With clsOnly, the output's [CLS] row alone, [B, 1, D]: its query
   * still attends to every token's key and value, but no other row's attention output or MLP
   * is computed (what the last layer of a classifier needs; see ViTModel.forwardCls).
   */
  forward(z: Tensor, clsOnly = false): Tensor {
    const h = this.layernorm_before.forward(z); // LN(z), [B, T, D]
    // each "+ z" is added by the GEMM of the sublayer's last projection
    const z1 = clsOnly
      ? this.attention.forward(h, narrow(z, 1, 0, 1), narrow(h, 1, 0, 1)) // [B, 1, D]
      : this.attention.forward(h, z); // z' = MSA(LN(z)) + z
    return this.output.forward(this.intermediate.forward(this.layernorm_after.forward(z1)), z1); // MLP(LN(z')) + z'
  }
}

export class ViTEncoder extends Module {
  layer: ModuleList<ViTLayer>;
  constructor(config: ViTConfig) {
    super();
    this.layer = new ModuleList(Array.from({ length: config.numHiddenLayers }, () => new ViTLayer(config)));
  }
  /** [B, T, D] -> [B, T, D]; with clsOnly, the last layer computes the [CLS] row alone -> [B, 1, D] */
  forward(x: Tensor, clsOnly = false): Tensor {
    const layers = [...this.layer];
    layers.forEach((l, i) => (x = l.forward(x, clsOnly && i === layers.length - 1)));
    return x;
  }
}

export class ViTModel<P extends PatchEmbedder = ViTPatchEmbeddings> extends Module {
  embeddings: ViTEmbeddings<P>;
  encoder: ViTEncoder;
  layernorm: LayerNorm;
  /**
   * forwardCls computes the last layer for the [CLS] row alone (default). false: every row, as
   * Hugging Face's and timm's ViTs do; the same numbers either way, for more work.
   */
  clsOnlyLastLayer = true;

  constructor(public config: ViTConfig, patchEmbeddings?: P) {
    super();
    this.embeddings = new ViTEmbeddings<P>(config, patchEmbeddings);
    this.encoder = new ViTEncoder(config);
    this.layernorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
    initViTWeights(this);
  }

  /** [B, C, H, W] -> last hidden state [B, N+1, D] */
  forward(pixelValues: Tensor): { lastHiddenState: Tensor } {
    return { lastHiddenState: this.layernorm.forward(this.encoder.forward(this.embeddings.forward(pixelValues))) };
  }

  /**
   * The [CLS] token's final state LN(z_L^0), [B, D]: row 0 of forward()'s last hidden state, and
   * all that eq. 4's head reads. Nothing after the last layer's keys and values depends on the
   * other rows, so that layer attends from the [CLS] query alone and runs its MLP on one row:
   * ViT-Ti/16 does 7% fewer FLOPs a step for the same logits and gradients. While attention is
   * being recorded (src/explain) every layer runs in full, so each record is [B, H, T, T].
   */
  forwardCls(pixelValues: Tensor): Tensor {
    const clsOnly = this.clsOnlyLastLayer && !isRecordingAttention();
    const z = this.encoder.forward(this.embeddings.forward(pixelValues), clsOnly); // [B, 1 or N+1, D]
    const cls = narrow(z, 1, 0, 1); // [B, 1, D]
    return reshape(this.layernorm.forward(cls), [z.shape[0], z.shape[2]]); // [B, D]
  }

  /**
   * Section 3.2, fine-tuning at higher resolution: keep the patch size (so the sequence grows),
   * and 2-D interpolate the pre-trained position embeddings to the new patch grid, since the
   * learned 1-D table has no meaning beyond its length. The [CLS] position is kept. Replaces
   * the position_embeddings Parameter: build the optimizer afterwards.
   */
  setImageSize(imageSize: number): void {
    const pe = this.embeddings.patch_embeddings;
    const g = pe.gridSize(imageSize);
    const resized = resizePositionEmbeddings(this.embeddings.position_embeddings, g, g); // [1, 1+N, D] -> [1, 1+g*g, D]
    this.embeddings.position_embeddings = new Parameter(resized);
    pe.setImageSize(imageSize);
    this.config = { ...this.config, imageSize };
  }
}

/** Eq. 4: y = head(LN(z_L^0)), the [CLS] token's final state. */
export class ViTForImageClassification<P extends PatchEmbedder = ViTPatchEmbeddings> extends Module {
  vit: ViTModel<P>;
  classifier: Linear;

  constructor(public config: ViTConfig, patchEmbeddings?: P) {
    super();
    this.vit = new ViTModel<P>(config, patchEmbeddings);
    this.classifier = new Linear(config.hiddenSize, config.numLabels);
    initViTWeights(this.classifier);
  }

  /** pixel values [B, C, H, W] -> { logits [B, numLabels] } */
  forward(pixelValues: Tensor): { logits: Tensor } {
    return { logits: this.classifier.forward(this.vit.forwardCls(pixelValues)) }; // [B, D] -> [B, numLabels]
  }

  /** Fine-tune at another resolution (section 3.2); see ViTModel.setImageSize. */
  setImageSize(imageSize: number): void {
    this.vit.setImageSize(imageSize);
    this.config = { ...this.config, imageSize };
  }
}

/**
 * Hugging Face's ViT init: truncated normal(0.02) for linear and conv weights, zero biases. A
 * CNN backbone (the hybrid's) keeps its own initialisation.
 */
function initViTWeights(root: Module): void {
  const skip = new Set<Module>();
  for (const [name, m] of root.namedModules()) if (name.split(".").includes("backbone")) skip.add(m);
  for (const m of root.modules()) {
    if (skip.has(m)) continue;
    if (m instanceof Linear || m instanceof Conv2d) {
      truncNormal_(m.weight, 0, 0.02);
      if (m.bias) zeros_(m.bias);
    }
  }
}
