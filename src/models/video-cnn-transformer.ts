// The CNN-features + Transformer video classifier of the Keras example "Video Classification
// with Transformers" (Paul, 2021): a convolutional network turns every frame into one feature
// vector, a learned positional embedding over time is added, a Transformer encoder (post-norm,
// as Keras' example writes it) mixes the frames, global max pooling over time gives the clip
// vector, then dropout and a linear classifier.
//
// The example uses a frozen ImageNet DenseNet121 as the frame CNN; here the CNN is small and
// trained with the rest (two conv + ReLU + 2x2 max-pool stages and a linear projection).

import { Conv2d, Dropout, LayerNorm, Linear } from "../nn/layers.js";
import { truncNormal_ } from "../nn/init.js";
import { Module, Parameter } from "../nn/module.js";
import { maxPool2d } from "../ops/conv.js";
import { add, gelu, relu } from "../ops/elementwise.js";
import { max } from "../ops/reduce.js";
import { reshape } from "../ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { ViTAttention } from "./vit.js";
import { checkClip, VideoEncoder, vitConfigOf } from "./vivit.js";

export interface VideoCnnTransformerConfig {
  numFrames: number;
  imageSize: number;
  numChannels: number;
  /** Channels of the two conv stages. */
  cnnChannels: [number, number];
  /** Frame feature and Transformer width (Keras: embed_dim). */
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Keras: dense_dim. */
  intermediateSize: number;
  numLabels: number;
  layerNormEps: number;
  /** Dropout before the classifier (Keras: 0.5). */
  classifierDropout: number;
}

export const videoCnnTransformerPresets: Record<string, VideoCnnTransformerConfig> = {
  "cnn-transformer-digits": {
    numFrames: 8, imageSize: 32, numChannels: 1, cnnChannels: [16, 32], hiddenSize: 64, numHiddenLayers: 1,
    numAttentionHeads: 1, intermediateSize: 128, numLabels: 40, layerNormEps: 1e-6, classifierDropout: 0.1,
  },
};

/** Per-frame features: [B*T, C, H, W] -> [B*T, D]. */
export class FrameCnn extends Module {
  conv1: Conv2d;
  conv2: Conv2d;
  proj: Linear;
  constructor(readonly config: VideoCnnTransformerConfig) {
    super();
    const [c1, c2] = config.cnnChannels;
    if (config.imageSize % 4 !== 0) throw new RangeError(`CNN-Transformer: frame size ${config.imageSize} must be divisible by 4 (two 2x2 poolings)`);
    this.conv1 = new Conv2d(config.numChannels, c1, 3, { padding: 1 });
    this.conv2 = new Conv2d(c1, c2, 3, { padding: 1 });
    const s = config.imageSize / 4;
    this.proj = new Linear(c2 * s * s, config.hiddenSize);
  }
  forward(frames: Tensor): Tensor {
    const x = maxPool2d(relu(this.conv2.forward(maxPool2d(relu(this.conv1.forward(frames)), 2))), 2); // [BT, c2, H/4, W/4]
    return this.proj.forward(reshape(x, [x.shape[0], x.numel / x.shape[0]]));
  }
}

/** Keras' TransformerEncoder: LN(x + MHA(x)), then LN(y + Dense(GELU(Dense(y)))). */
export class KerasTransformerEncoder extends Module {
  attention: ViTAttention;
  dense_proj_1: Linear;
  dense_proj_2: Linear;
  layernorm_1: LayerNorm;
  layernorm_2: LayerNorm;
  constructor(config: VideoCnnTransformerConfig) {
    super();
    this.attention = new ViTAttention(vitConfigOf({ ...config, hiddenDropoutProb: 0, qkvBias: true }));
    this.dense_proj_1 = new Linear(config.hiddenSize, config.intermediateSize);
    this.dense_proj_2 = new Linear(config.intermediateSize, config.hiddenSize);
    this.layernorm_1 = new LayerNorm(config.hiddenSize, config.layerNormEps);
    this.layernorm_2 = new LayerNorm(config.hiddenSize, config.layerNormEps);
  }
  forward(x: Tensor): Tensor {
    const y = this.layernorm_1.forward(add(x, this.attention.forward(x)));
    return this.layernorm_2.forward(add(y, this.dense_proj_2.forward(gelu(this.dense_proj_1.forward(y)))));
  }
}

export class VideoCnnTransformer extends Module {
  cnn: FrameCnn;
  position_embeddings: Parameter;
  encoder: VideoEncoder<KerasTransformerEncoder>;
  dropout: Dropout;
  classifier: Linear;

  constructor(readonly config: VideoCnnTransformerConfig) {
    super();
    const { numFrames: T, hiddenSize: D } = config;
    this.cnn = new FrameCnn(config);
    this.position_embeddings = new Parameter(new Float32Array(T * D), [1, T, D]);
    truncNormal_(this.position_embeddings, 0, 0.02);
    this.encoder = new VideoEncoder(Array.from({ length: config.numHiddenLayers }, () => new KerasTransformerEncoder(config)));
    this.dropout = new Dropout(config.classifierDropout);
    this.classifier = new Linear(D, config.numLabels);
  }

  /** [B, T, C, H, W] -> logits [B, numLabels] */
  forward(video: Tensor): { logits: Tensor } {
    const c = this.config;
    checkClip("CNN-Transformer", video, c.numFrames, c.numChannels, c.imageSize);
    const [B, T, C, H, W] = video.shape;
    const features = reshape(this.cnn.forward(reshape(video, [B * T, C, H, W])), [B, T, c.hiddenSize]); // [B, T, D]
    const x = this.encoder.forward(add(features, this.position_embeddings));
    const pooled = max(x, 1); // GlobalMaxPooling1D: [B, T, D] -> [B, D]
    return { logits: this.classifier.forward(this.dropout.forward(pooled)) };
  }
}
