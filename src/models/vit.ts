// The Vision Transformer: "An Image is Worth 16x16 Words" (Dosovitskiy et al. 2021).
//
// Split the image into fixed-size patches, embed each linearly (a convolution whose stride
// is the patch size), prepend a learned [CLS] token, add learned 1-D position embeddings,
// run a pre-norm Transformer encoder, and classify from the [CLS] token (eq. 1-4).
// Parameter names follow Hugging Face's ViTForImageClassification.

import { Conv2d, Dropout, LayerNorm, Linear } from "../nn/layers.js";
import { ModuleList } from "../nn/containers.js";
import { truncNormal_, zeros_ } from "../nn/init.js";
import { Module, Parameter } from "../nn/module.js";
import { multiHeadAttentionFused } from "../ops/attention.js";
import { add, gelu } from "../ops/elementwise.js";
import { expand, narrow, reshape, cat, unfold } from "../ops/shape.js";
import { matmulT } from "../ops/matmul.js";
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

/** Table 1 of the paper (Ti and S from DeiT), plus a small model for 28x28 digits. */
export const vitPresets: Record<string, ViTConfig> = {
  "vit-tiny-patch16-224": { ...base, patchSize: 16, hiddenSize: 192, numHiddenLayers: 12, numAttentionHeads: 3, intermediateSize: 768 },
  "vit-small-patch16-224": { ...base, patchSize: 16, hiddenSize: 384, numHiddenLayers: 12, numAttentionHeads: 6, intermediateSize: 1536 },
  "vit-base-patch16-224": { ...base, patchSize: 16, hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12, intermediateSize: 3072 },
  "vit-base-patch32-224": { ...base, patchSize: 32, hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12, intermediateSize: 3072 },
  "vit-large-patch16-224": { ...base, patchSize: 16, hiddenSize: 1024, numHiddenLayers: 24, numAttentionHeads: 16, intermediateSize: 4096 },
  "vit-large-patch32-224": { ...base, patchSize: 32, hiddenSize: 1024, numHiddenLayers: 24, numAttentionHeads: 16, intermediateSize: 4096 },
  "vit-huge-patch14-224": { ...base, patchSize: 14, hiddenSize: 1280, numHiddenLayers: 32, numAttentionHeads: 16, intermediateSize: 5120 },
  "vit-mnist": { ...base, imageSize: 28, numChannels: 1, numLabels: 10, patchSize: 4, hiddenSize: 64, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 128 },
};

/** Image -> sequence of patch vectors: [B, C, H, W] -> [B, N, D] with N = HW/P^2. */
export class ViTPatchEmbeddings extends Module {
  projection: Conv2d;
  readonly numPatches: number;

  constructor(readonly config: ViTConfig) {
    super();
    const { imageSize, patchSize, numChannels, hiddenSize } = config;
    if (imageSize % patchSize !== 0) throw new RangeError(`ViT: image size ${imageSize} is not divisible by patch size ${patchSize}`);
    this.numPatches = (imageSize / patchSize) ** 2;
    this.projection = new Conv2d(numChannels, hiddenSize, patchSize, { stride: patchSize });
  }

  forward(pixelValues: Tensor): Tensor {
    const { numChannels, imageSize } = this.config;
    const [, C, H, W] = pixelValues.shape;
    if (pixelValues.ndim !== 4 || C !== numChannels || H !== imageSize || W !== imageSize) {
      throw new RangeError(`ViT: expected pixel values [B, ${numChannels}, ${imageSize}, ${imageSize}], got ${formatShape(pixelValues.shape)}`);
    }
    // The convolution with stride = kernel = P is a linear map of each flattened patch:
    // patches^T W^T + b computed straight into [B, N, D] (no [B, D, N] -> [B, N, D] transpose).
    const P = this.config.patchSize, D = this.config.hiddenSize;
    const patches = unfold(pixelValues, P, { stride: P }); // [B, C*P*P, N]
    const w = reshape(this.projection.weight, [D, numChannels * P * P]); // [D, C*P*P]
    return add(matmulT(patches, w, true, true), this.projection.bias!); // [B, N, D]
  }
}

/** Eq. 1: z0 = [x_class; x_p^1 E; ...; x_p^N E] + E_pos */
export class ViTEmbeddings extends Module {
  cls_token: Parameter;
  position_embeddings: Parameter;
  patch_embeddings: ViTPatchEmbeddings;
  dropout: Dropout;

  constructor(config: ViTConfig) {
    super();
    const D = config.hiddenSize;
    this.patch_embeddings = new ViTPatchEmbeddings(config);
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

  forward(x: Tensor): Tensor {
    // softmax(Q K^T / sqrt(d)) V per head, heads read side by side from [B, T, D]
    return multiHeadAttentionFused(this.query.forward(x), this.key.forward(x), this.value.forward(x), this.config.numAttentionHeads);
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
  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.dense.forward(x));
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
  forward(x: Tensor): Tensor {
    return this.output.forward(this.attention.forward(x));
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
  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.dense.forward(x));
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

  forward(z: Tensor): Tensor {
    const z1 = add(this.attention.forward(this.layernorm_before.forward(z)), z);
    return add(this.output.forward(this.intermediate.forward(this.layernorm_after.forward(z1))), z1);
  }
}

export class ViTEncoder extends Module {
  layer: ModuleList<ViTLayer>;
  constructor(config: ViTConfig) {
    super();
    this.layer = new ModuleList(Array.from({ length: config.numHiddenLayers }, () => new ViTLayer(config)));
  }
  forward(x: Tensor): Tensor {
    for (const l of this.layer) x = l.forward(x);
    return x;
  }
}

export class ViTModel extends Module {
  embeddings: ViTEmbeddings;
  encoder: ViTEncoder;
  layernorm: LayerNorm;

  constructor(readonly config: ViTConfig) {
    super();
    this.embeddings = new ViTEmbeddings(config);
    this.encoder = new ViTEncoder(config);
    this.layernorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
    initViTWeights(this);
  }

  /** [B, C, H, W] -> last hidden state [B, N+1, D] */
  forward(pixelValues: Tensor): { lastHiddenState: Tensor } {
    return { lastHiddenState: this.layernorm.forward(this.encoder.forward(this.embeddings.forward(pixelValues))) };
  }
}

/** Eq. 4: y = head(LN(z_L^0)), the [CLS] token's final state. */
export class ViTForImageClassification extends Module {
  vit: ViTModel;
  classifier: Linear;

  constructor(readonly config: ViTConfig) {
    super();
    this.vit = new ViTModel(config);
    this.classifier = new Linear(config.hiddenSize, config.numLabels);
    initViTWeights(this.classifier);
  }

  forward(pixelValues: Tensor): { logits: Tensor } {
    const h = this.vit.forward(pixelValues).lastHiddenState; // [B, N+1, D]
    const cls = reshape(narrow(h, 1, 0, 1), [h.shape[0], h.shape[2]]); // [B, D]
    return { logits: this.classifier.forward(cls) };
  }
}

/** Hugging Face's ViT init: truncated normal(0.02) for linear and conv weights, zero biases. */
function initViTWeights(root: Module): void {
  for (const m of root.modules()) {
    if (m instanceof Linear || m instanceof Conv2d) {
      truncNormal_(m.weight, 0, 0.02);
      if (m.bias) zeros_(m.bias);
    }
  }
}
