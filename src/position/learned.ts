// Learned absolute positions (BERT, GPT-2, ViT): a trainable vector per position, added to
// the token embeddings. Unlike the sinusoidal table it cannot go past its length, and a
// 2-D grid of them (ViT) can be resized for another image size (ViT §3.2).

import { Embedding } from "../nn/layers.js";
import { normal_ } from "../nn/init.js";
import { Module } from "../nn/module.js";
import { add } from "../ops/elementwise.js";
import { arange } from "../tensor/creation.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";

export class LearnedPositionalEmbedding extends Module {
  weight: Embedding;
  constructor(readonly maxLen: number, readonly dim: number) {
    super();
    this.weight = new Embedding(maxLen, dim);
    normal_(this.weight.weight, 0, 0.02);
  }

  /** x [B, T, C] -> x + P[offset : offset + T] */
  forward(x: Tensor, offset = 0): Tensor {
    const T = x.shape[1];
    if (offset + T > this.maxLen) {
      throw new RangeError(`LearnedPositionalEmbedding: sequence of ${offset + T} positions is longer than the table of ${this.maxLen} (input ${formatShape(x.shape)})`);
    }
    return add(x, this.weight.forward(arange(offset, offset + T)));
  }
}
