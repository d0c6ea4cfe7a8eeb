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

/**
 * Normal(mean, std) truncated to the absolute bounds [a, b] (like torch.nn.init.trunc_normal_;
 * timm's and ViT's default is std 0.02, [-2, 2]). Redraws while that accepts often; a window in
 * the far tail is sampled by inverting the CDF, so it never hangs.
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, g: Generator = defaultGenerator): Tensor {
  if (!(a < b)) throw new RangeError(`truncNormal_: need a < b, got a = ${a}, b = ${b}`);
  if (!(std > 0)) throw new RangeError(`truncNormal_: std must be > 0, got ${std}`);
  let alpha = (a - mean) / std, beta = (b - mean) / std;
  if (normalCdf(beta) - normalCdf(alpha) > 0.05) {
    for (let i = 0; i < t.numel; i++) {
      let v: number;
      do v = mean + std * g.normal(); while (v < a || v > b);
      t.data[i] = v;
    }
    return t;
  }
  // Inverse CDF, in the lower tail (mirrored when the window is above the mean) for precision.
  const flip = alpha > 0;
  if (flip) [alpha, beta] = [-beta, -alpha];
  const lo = normalCdf(alpha), hi = normalCdf(beta);
  for (let i = 0; i < t.numel; i++) {
    let z = normalQuantile(lo + (hi - lo) * g.random());
    z = Math.min(beta, Math.max(alpha, z));
    t.data[i] = Math.min(b, Math.max(a, mean + std * (flip ? -z : z)));
  }
  return t;
}

/** Standard normal CDF via erfc (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const u = 1 / (1 + 0.5 * z);
  const erfc = u * Math.exp(-z * z - 1.26551223 + u * (1.00002368 + u * (0.37409196 + u * (0.09678418 +
    u * (-0.18628806 + u * (0.27886807 + u * (-1.13520398 + u * (1.48851587 + u * (-0.82215223 + u * 0.17087277)))))))));
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number =>
    (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q /
    (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
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
