// Group normalisation (Wu & He 2018): normalise each sample over groups of channels and all
// positions, then scale and shift per channel. Independent of the batch size, which is why BiT
// (Kolesnikov et al. 2020), the ResNet behind the ViT paper's hybrids, uses it.

import { add, mul } from "../ops/elementwise.js";
import { layerNorm } from "../ops/functional.js";
import { reshape } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { ones_, zeros_ } from "./init.js";
import { Module, Parameter } from "./module.js";

export class GroupNorm extends Module {
  weight: Parameter;
  bias: Parameter;

  constructor(readonly numGroups: number, readonly numChannels: number, readonly eps = 1e-5) {
    super();
    if (!(numGroups >= 1 && numChannels % numGroups === 0)) {
      throw new RangeError(`GroupNorm: ${numChannels} channels do not split into ${numGroups} groups`);
    }
    this.weight = ones_(new Parameter(new Float32Array(numChannels), [numChannels])) as Parameter;
    this.bias = zeros_(new Parameter(new Float32Array(numChannels), [numChannels])) as Parameter;
  }

  /** [B, C, ...] -> [B, C, ...] */
  forward(x: Tensor): Tensor {
    const [B, C] = x.shape;
    if (x.ndim < 2 || C !== this.numChannels) {
      throw new RangeError(`GroupNorm: expected [B, ${this.numChannels}, ...], got ${formatShape(x.shape)}`);
    }
    const G = this.numGroups, rest = x.numel / (B * C);
    // A group is a contiguous run of C/G channels: its statistics are one layer norm row.
    const normed = layerNorm(reshape(x, [B, G, (C / G) * rest]), (C / G) * rest, null, null, this.eps); // [B, G, C/G*HW]
    const affineShape = [C, ...new Array(x.ndim - 2).fill(1)];
    return add(mul(reshape(normed, x.shape), reshape(this.weight, affineShape)), reshape(this.bias, affineShape));
  }
}
