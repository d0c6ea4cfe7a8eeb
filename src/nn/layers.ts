// The basic layers: Linear, Embedding, LayerNorm, Dropout, convolutions, pooling, activations.

import { conv1d, conv2d, conv3d, type ConvOptions, maxPool2d, avgPool2d, type PoolOptions } from "../ops/conv.js";
import { add, gelu, relu, sigmoid, silu, tanh } from "../ops/elementwise.js";
import { dropout, embedding, layerNorm, linear, logSoftmax, softmax } from "../ops/functional.js";
import { cat, flatten } from "../ops/shape.js";
import { tupleOf } from "../ops/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { kaimingUniform_, normal_, ones_, uniform_, zeros_, fans } from "./init.js";
import { Module, Parameter } from "./module.js";

function emptyParam(shape: number[]): Parameter {
  return new Parameter(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
}

/** y = x W^T + b, weight [out, in] (PyTorch's layout and default initialisation). */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    this.weight = emptyParam([outFeatures, inFeatures]);
    this.bias = options.bias ?? true ? emptyParam([outFeatures]) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    // kaiming_uniform(a = sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in)), as nn.Linear does
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const b = 1 / Math.sqrt(this.inFeatures);
      uniform_(this.bias, -b, b);
    }
  }

  /** With `residual` (the output's shape), y = x W^T + b + residual in one GEMM. */
  forward(x: Tensor, residual: Tensor | null = null): Tensor {
    return linear(x, this.weight, this.bias, { residual });
  }
}

/**
 * x through several Linear layers of the same input size as one GEMM: their weights stacked
 * [sum out, in], their outputs side by side in each row [..., out1 + out2 + ...]. Attention uses
 * it for [q | k | v] (one pass over x, one wide product instead of three narrow ones) while each
 * projection stays its own module with its own parameter names (Hugging Face's query/key/value).
 */
export function fusedLinear(x: Tensor, layers: readonly Linear[]): Tensor {
  if (layers.length === 1) return layers[0].forward(x);
  const weight = cat(layers.map((l) => l.weight), 0);
  const withBias = layers.filter((l) => l.bias).length;
  if (withBias !== 0 && withBias !== layers.length) {
    throw new RangeError(`fusedLinear: ${withBias} of ${layers.length} layers have a bias; all or none must`);
  }
  return linear(x, weight, withBias ? cat(layers.map((l) => l.bias!), 0) : null);
}

/** A lookup table of vectors: int32 ids [...] -> [..., dim]. */
export class Embedding extends Module {
  weight: Parameter;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number) {
    super();
    this.weight = emptyParam([numEmbeddings, embeddingDim]);
    normal_(this.weight);
  }

  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}

export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: number[];

  constructor(normalizedShape: number | number[], readonly eps = 1e-5, options: { elementwiseAffine?: boolean; bias?: boolean } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? ones_(emptyParam(this.normalizedShape)) as Parameter : null;
    this.bias = affine && (options.bias ?? true) ? zeros_(emptyParam(this.normalizedShape)) as Parameter : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }

  /** Whether forward() changes anything (training with p > 0); when not, a residual sum around it can be fused. */
  get active(): boolean {
    return this.training && this.p > 0;
  }
}

/**
 * residual + Dropout(project(null)) for a sublayer whose last step is a projection that can add
 * a residual in its GEMM (Linear/Conv1D forward(x, residual)): with dropout off, project(residual)
 * writes the sum at once; with dropout on, the sum waits until after the dropout.
 */
export function projectWithResidual(project: (residual: Tensor | null) => Tensor, drop: Dropout, residual: Tensor | null): Tensor {
  if (residual && !drop.active) return project(residual);
  const y = drop.forward(project(null));
  return residual ? add(y, residual) : y;
}

abstract class ConvNd extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: number[];

  constructor(nd: number, readonly inChannels: number, readonly outChannels: number, kernelSize: number | number[],
    readonly options: ConvOptions & { bias?: boolean } = {}) {
    super();
    const groups = options.groups ?? 1;
    if (inChannels % groups || outChannels % groups) {
      throw new RangeError(`Conv${nd}d: channels ${inChannels} -> ${outChannels} must divide by groups ${groups}`);
    }
    this.kernelSize = tupleOf(kernelSize, nd, 1, `Conv${nd}d: kernelSize`);
    this.weight = emptyParam([outChannels, inChannels / groups, ...this.kernelSize]);
    this.bias = options.bias ?? true ? emptyParam([outChannels]) : null;
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const b = 1 / Math.sqrt(fans(this.weight).fanIn);
      uniform_(this.bias, -b, b);
    }
  }
}

export class Conv1d extends ConvNd {
  constructor(inC: number, outC: number, k: number | number[], o: ConvOptions & { bias?: boolean } = {}) { super(1, inC, outC, k, o); }
  forward(x: Tensor): Tensor { return conv1d(x, this.weight, this.bias, this.options); }
}

export class Conv2d extends ConvNd {
  constructor(inC: number, outC: number, k: number | number[], o: ConvOptions & { bias?: boolean } = {}) { super(2, inC, outC, k, o); }
  forward(x: Tensor): Tensor { return conv2d(x, this.weight, this.bias, this.options); }
}

export class Conv3d extends ConvNd {
  constructor(inC: number, outC: number, k: number | number[], o: ConvOptions & { bias?: boolean } = {}) { super(3, inC, outC, k, o); }
  forward(x: Tensor): Tensor { return conv3d(x, this.weight, this.bias, this.options); }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: number | number[], readonly options: PoolOptions = {}) { super(); }
  forward(x: Tensor): Tensor { return maxPool2d(x, this.kernelSize, this.options); }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: number | number[], readonly options: PoolOptions = {}) { super(); }
  forward(x: Tensor): Tensor { return avgPool2d(x, this.kernelSize, this.options); }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) { super(); }
  forward(x: Tensor): Tensor { return flatten(x, this.startDim, this.endDim); }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor { return x; }
}

export class ReLU extends Module { forward(x: Tensor): Tensor { return relu(x); } }
export class Tanh extends Module { forward(x: Tensor): Tensor { return tanh(x); } }
export class Sigmoid extends Module { forward(x: Tensor): Tensor { return sigmoid(x); } }
export class SiLU extends Module { forward(x: Tensor): Tensor { return silu(x); } }

export class GELU extends Module {
  constructor(readonly approximate: "none" | "tanh" = "none") { super(); }
  forward(x: Tensor): Tensor { return gelu(x, this.approximate); }
}

export class Softmax extends Module {
  constructor(readonly dim = -1) { super(); }
  forward(x: Tensor): Tensor { return softmax(x, this.dim); }
}

export class LogSoftmax extends Module {
  constructor(readonly dim = -1) { super(); }
  forward(x: Tensor): Tensor { return logSoftmax(x, this.dim); }
}
