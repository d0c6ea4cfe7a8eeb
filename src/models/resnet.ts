// The CNN baseline: a small residual network (He et al. 2016, "Deep Residual Learning for Image
// Recognition"). For small images it follows the paper's CIFAR design (section 4.2): a 3x3
// stem at full resolution, then stages of basic blocks whose widths double as the resolution
// halves, global average pooling and a linear classifier. Normalisation is GroupNorm, as in
// BiT (Kolesnikov et al. 2020), the ResNet the ViT paper builds its hybrids on.
// Module names follow Hugging Face's ResNetForImageClassification
// (resnet.embedder.embedder.convolution, resnet.encoder.stages.0.layers.0.layer.0...).

import { Conv2d, Linear } from "../nn/layers.js";
import { GroupNorm } from "../nn/group-norm.js";
import { ModuleList } from "../nn/containers.js";
import { kaimingNormal_ } from "../nn/init.js";
import { Module } from "../nn/module.js";
import { add, relu } from "../ops/elementwise.js";
import { mean } from "../ops/reduce.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";

export interface ResNetConfig {
  imageSize: number;
  numChannels: number;
  /** Width of the stem. */
  embeddingSize: number;
  /** Width of each stage; every stage after the first halves the resolution. */
  hiddenSizes: number[];
  /** Basic blocks per stage. */
  depths: number[];
  /** GroupNorm groups (BiT uses 32; small widths need fewer). */
  numGroups: number;
  numLabels: number;
}

export const resnetPresets: Record<string, ResNetConfig> = {
  // He et al.'s CIFAR ResNet-14 (6n + 2 layers, n = 2, widths 16/32/64) on 28x28 digits
  "resnet-mnist": { imageSize: 28, numChannels: 1, embeddingSize: 16, hiddenSizes: [16, 32, 64], depths: [2, 2, 2], numGroups: 8, numLabels: 10 },
  // The stem of the hybrid ViT for digits: one block per stage, 28x28 -> a 7x7 feature map
  "resnet-mnist-stem": { imageSize: 28, numChannels: 1, embeddingSize: 16, hiddenSizes: [16, 32, 64], depths: [1, 1, 1], numGroups: 8, numLabels: 10 },
};

/** conv3x3 (or 1x1) -> GroupNorm -> ReLU (optional) */
export class ResNetConvLayer extends Module {
  convolution: Conv2d;
  normalization: GroupNorm;

  constructor(inC: number, outC: number, kernel: number, stride: number, groups: number, readonly activation = true) {
    super();
    this.convolution = new Conv2d(inC, outC, kernel, { stride, padding: Math.floor(kernel / 2), bias: false });
    this.normalization = new GroupNorm(Math.min(groups, outC), outC);
    kaimingNormal_(this.convolution.weight, { mode: "fanOut", nonlinearity: "relu" });
  }

  forward(x: Tensor): Tensor {
    const y = this.normalization.forward(this.convolution.forward(x));
    return this.activation ? relu(y) : y;
  }
}

/** y = ReLU(F(x) + shortcut(x)), F = two 3x3 convolutions (section 3.2, "basic block"). */
export class ResNetBasicLayer extends Module {
  shortcut: ResNetConvLayer | null;
  layer: ModuleList<ResNetConvLayer>;

  constructor(inC: number, outC: number, stride: number, groups: number) {
    super();
    // projection shortcut (option B) only where the shape changes
    this.shortcut = inC !== outC || stride !== 1 ? new ResNetConvLayer(inC, outC, 1, stride, groups, false) : null;
    this.layer = new ModuleList([new ResNetConvLayer(inC, outC, 3, stride, groups), new ResNetConvLayer(outC, outC, 3, 1, groups, false)]);
    // The last GroupNorm keeps its weight at one. Zero-initialising it (Goyal et al. 2017, with
    // BatchNorm) slows this GroupNorm net badly: in PyTorch, on 2,048 digits, 256 AdamW steps
    // reach a training loss of 1.57 with it and 0.50 without (docs/VIT.md).
  }

  forward(x: Tensor): Tensor {
    const residual = this.shortcut ? this.shortcut.forward(x) : x;
    let h = x;
    for (const l of this.layer) h = l.forward(h);
    return relu(add(h, residual));
  }
}

export class ResNetStage extends Module {
  layers: ModuleList<ResNetBasicLayer>;
  constructor(inC: number, outC: number, stride: number, depth: number, groups: number) {
    super();
    this.layers = new ModuleList(Array.from({ length: depth }, (_, i) => new ResNetBasicLayer(i === 0 ? inC : outC, outC, i === 0 ? stride : 1, groups)));
  }
  forward(x: Tensor): Tensor {
    for (const l of this.layers) x = l.forward(x);
    return x;
  }
}

export class ResNetEmbeddings extends Module {
  embedder: ResNetConvLayer;
  constructor(config: ResNetConfig) {
    super();
    this.embedder = new ResNetConvLayer(config.numChannels, config.embeddingSize, 3, 1, config.numGroups);
  }
  forward(x: Tensor): Tensor {
    return this.embedder.forward(x);
  }
}

export class ResNetEncoder extends Module {
  stages: ModuleList<ResNetStage>;
  constructor(config: ResNetConfig) {
    super();
    const { hiddenSizes, depths } = config;
    if (hiddenSizes.length !== depths.length || hiddenSizes.length === 0) {
      throw new RangeError(`ResNet: hiddenSizes (${hiddenSizes.length}) and depths (${depths.length}) must list the same stages`);
    }
    this.stages = new ModuleList(hiddenSizes.map((w, i) =>
      new ResNetStage(i === 0 ? config.embeddingSize : hiddenSizes[i - 1], w, i === 0 ? 1 : 2, depths[i], config.numGroups)));
  }
  forward(x: Tensor): Tensor {
    for (const s of this.stages) x = s.forward(x);
    return x;
  }
}

/** Side of the feature map a ResNet makes from a size x size image (each later stage halves it, rounding up). */
export function resnetOutputSize(config: ResNetConfig, size = config.imageSize): number {
  for (let i = 1; i < config.hiddenSizes.length; i++) size = Math.floor((size - 1) / 2) + 1;
  return size;
}

export class ResNetModel extends Module {
  embedder: ResNetEmbeddings;
  encoder: ResNetEncoder;

  constructor(readonly config: ResNetConfig) {
    super();
    this.embedder = new ResNetEmbeddings(config);
    this.encoder = new ResNetEncoder(config);
  }

  /** [B, C, H, W] -> feature map [B, C', H', W'] and its global average [B, C'] */
  forward(pixelValues: Tensor): { lastHiddenState: Tensor; poolerOutput: Tensor } {
    const C = this.config.numChannels;
    if (pixelValues.ndim !== 4 || pixelValues.shape[1] !== C) {
      throw new RangeError(`ResNet: expected pixel values [B, ${C}, H, W], got ${formatShape(pixelValues.shape)}`);
    }
    const h = this.encoder.forward(this.embedder.forward(pixelValues));
    return { lastHiddenState: h, poolerOutput: mean(h, [2, 3]) };
  }
}

export class ResNetForImageClassification extends Module {
  resnet: ResNetModel;
  classifier: Linear;

  constructor(readonly config: ResNetConfig) {
    super();
    this.resnet = new ResNetModel(config);
    this.classifier = new Linear(config.hiddenSizes[config.hiddenSizes.length - 1], config.numLabels);
  }

  forward(pixelValues: Tensor): { logits: Tensor } {
    return { logits: this.classifier.forward(this.resnet.forward(pixelValues).poolerOutput) };
  }
}
