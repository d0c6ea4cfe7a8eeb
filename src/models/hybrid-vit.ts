// The hybrid Vision Transformer (ViT paper, section 3.1 "Hybrid Architecture"): instead of raw
// image patches, the input sequence is cut from a CNN's feature map. With 1x1 patches, each
// spatial position of the feature map becomes one token, projected to the model width by E
// (eq. 1); the [CLS] token, position embeddings and encoder are the ViT's own.
// Names follow Hugging Face's ViTHybrid: vit.embeddings.patch_embeddings.backbone.*,
// vit.embeddings.patch_embeddings.projection.

import { Conv2d } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { add } from "../ops/elementwise.js";
import { matmulT } from "../ops/matmul.js";
import { reshape } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { ResNetModel, resnetOutputSize, resnetPresets, type ResNetConfig } from "./resnet.js";
import { type PatchEmbedder, ViTForImageClassification, type ViTConfig, vitPresets } from "./vit.js";

export interface HybridViTConfig extends ViTConfig {
  /** The CNN stem; its numChannels and imageSize must be the ViT's. patchSize is 1 (on the feature map). */
  backbone: ResNetConfig;
}

export const hybridVitPresets: Record<string, HybridViTConfig> = {
  // ResNet stem 28x28 -> 7x7x64, then the vit-mnist encoder on the 49 feature vectors
  "hybrid-vit-mnist": { ...vitPresets["vit-mnist"], patchSize: 1, backbone: resnetPresets["resnet-mnist-stem"] },
};

/** CNN feature map -> tokens: [B, C, H, W] -> backbone [B, C', h, w] -> 1x1 patches [B, h*w, D]. */
export class HybridPatchEmbeddings extends Module implements PatchEmbedder {
  backbone: ResNetModel;
  projection: Conv2d;
  numPatches: number;
  imageSize: number;

  constructor(readonly config: HybridViTConfig) {
    super();
    const b = config.backbone;
    if (config.patchSize !== 1) throw new RangeError(`HybridViT: patches of the feature map are 1x1, got patchSize ${config.patchSize}`);
    if (b.numChannels !== config.numChannels) {
      throw new RangeError(`HybridViT: backbone takes ${b.numChannels} channels but the ViT config says ${config.numChannels}`);
    }
    this.backbone = new ResNetModel({ ...b, imageSize: config.imageSize });
    this.projection = new Conv2d(b.hiddenSizes[b.hiddenSizes.length - 1], config.hiddenSize, 1);
    this.imageSize = config.imageSize;
    this.numPatches = this.gridSize(config.imageSize) ** 2;
  }

  gridSize(imageSize: number): number {
    if (!(Number.isInteger(imageSize) && imageSize > 0)) throw new RangeError(`HybridViT: image size must be a positive integer, got ${imageSize}`);
    return resnetOutputSize(this.config.backbone, imageSize);
  }

  setImageSize(imageSize: number): void {
    this.numPatches = this.gridSize(imageSize) ** 2;
    this.imageSize = imageSize;
  }

  forward(pixelValues: Tensor): Tensor {
    const S = this.imageSize, C = this.config.numChannels;
    if (pixelValues.ndim !== 4 || pixelValues.shape[1] !== C || pixelValues.shape[2] !== S || pixelValues.shape[3] !== S) {
      throw new RangeError(`HybridViT: expected pixel values [B, ${C}, ${S}, ${S}], got ${formatShape(pixelValues.shape)}`);
    }
    const f = this.backbone.forward(pixelValues).lastHiddenState; // [B, C', h, w]
    const [B, Cf, h, w] = f.shape;
    const D = this.config.hiddenSize;
    // a 1x1 convolution is x^T W^T + b per position, computed straight into [B, h*w, D]
    const feats = reshape(f, [B, Cf, h * w]); // [B, C', N]
    const wt = reshape(this.projection.weight, [D, Cf]); // [D, C']
    return add(matmulT(feats, wt, true, true), this.projection.bias!); // [B, N, D]
  }
}

/** ViTForImageClassification over a CNN stem: same names below `vit.`, same classifier. */
export class HybridViTForImageClassification extends ViTForImageClassification<HybridPatchEmbeddings> {
  constructor(config: HybridViTConfig) {
    super(config, new HybridPatchEmbeddings(config));
  }
}
