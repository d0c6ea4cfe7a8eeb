// Initialisers (in place, like torch.nn.init): uniform, normal, truncated normal, Xavier, Kaiming.

import { defaultGenerator, type Generator } from "../tensor/random.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";

/** fan_in and fan_out as PyTorch computes them: [out, in, *kernel]. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new RangeError(`init: fan in/out need a tensor of rank >= 2, got ${formatShape(t.shape)}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

export function uniform_(t: Tensor, a = 0, b = 1, g: Generator = defaultGenerator): Tensor {
  for (let i = 0; i < t.numel; i++) t.data[i] = a + (b - a) * g.random();
  return t;
}

export function normal_(t: Tensor, mean = 0, std = 1, g: Generator = defaultGenerator): Tensor {
  for (let i = 0; i < t.numel; i++) t.data[i] = mean + std * g.normal();
  return t;
}

/** Normal(mean, std) redrawn until inside [a, b] (timm's and ViT's default is std 0.02, [-2, 2]). */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, g: Generator = defaultGenerator): Tensor {
  for (let i = 0; i < t.numel; i++) {
    let v: number;
    do v = mean + std * g.normal(); while (v < a || v > b);
    t.data[i] = v;
  }
  return t;
}

export function constant_(t: Tensor, value: number): Tensor {
  t.data.fill(value);
  return t;
}

export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

/** Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1, g: Generator = defaultGenerator): Tensor {
  const { fanIn, fanOut } = fans(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a, g);
}

export function xavierNormal_(t: Tensor, gain = 1, g: Generator = defaultGenerator): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), g);
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (0 for ReLU). */
  a?: number;
  mode?: "fanIn" | "fanOut";
  nonlinearity?: "relu" | "leakyRelu" | "linear" | "tanh";
  generator?: Generator;
}

function gainOf(o: KaimingOptions): number {
  switch (o.nonlinearity ?? "leakyRelu") {
    case "relu": return Math.SQRT2;
    case "leakyRelu": return Math.sqrt(2 / (1 + (o.a ?? 0) ** 2));
    case "tanh": return 5 / 3;
    case "linear": return 1;
  }
}

/** He et al. (2015): U(-b, b) with b = gain * sqrt(3 / fan). */
export function kaimingUniform_(t: Tensor, o: KaimingOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const fan = (o.mode ?? "fanIn") === "fanIn" ? fanIn : fanOut;
  const bound = gainOf(o) * Math.sqrt(3 / fan);
  return uniform_(t, -bound, bound, o.generator);
}

export function kaimingNormal_(t: Tensor, o: KaimingOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const fan = (o.mode ?? "fanIn") === "fanIn" ? fanIn : fanOut;
  return normal_(t, 0, gainOf(o) / Math.sqrt(fan), o.generator);
}
