// Convolution (1-D, 2-D, 3-D) as im2col + GEMM, and max/average pooling.

import { formatShape, sizeOf } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { add } from "./elementwise.js";
import { matmulT } from "./matmul.js";
import { max, mean } from "./reduce.js";
import { cat, narrow, pad, reshape, tupleOf, unfold } from "./shape.js";
import { assertFloat } from "./util.js";

export interface ConvOptions {
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  groups?: number;
}

/** N-d convolution: x [N, C, *spatial], weight [O, C/groups, *kernel], bias [O]. */
export function convNd(nd: number, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, options: ConvOptions = {}): Tensor {
  const op = `conv${nd}d`;
  assertFloat(op, x);
  if (x.ndim !== nd + 2) throw new RangeError(`${op}: input must be [N, C, ${nd === 1 ? "L" : nd === 2 ? "H, W" : "D, H, W"}], got ${formatShape(x.shape)}`);
  if (weight.ndim !== nd + 2) throw new RangeError(`${op}: weight must have rank ${nd + 2}, got ${formatShape(weight.shape)}`);
  const groups = options.groups ?? 1;
  const [N, C] = x.shape;
  const [O, Cg] = weight.shape;
  if (C % groups !== 0 || O % groups !== 0 || Cg * groups !== C) {
    throw new RangeError(`${op}: input has ${C} channels but weight ${formatShape(weight.shape)} with groups=${groups} expects ${Cg * groups}`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== O)) throw new RangeError(`${op}: bias must be [${O}], got ${formatShape(bias.shape)}`);
  const kernel = weight.shape.slice(2);
  const unfoldOpts = {
    stride: tupleOf(options.stride, nd, 1, `${op}: stride`),
    padding: tupleOf(options.padding, nd, 0, `${op}: padding`),
    dilation: tupleOf(options.dilation, nd, 1, `${op}: dilation`),
  };
  const outs: Tensor[] = [];
  const K = Cg * sizeOf(kernel);
  for (let g = 0; g < groups; g++) {
    const xg = groups === 1 ? x : narrow(x, 1, g * Cg, Cg);
    const wg = groups === 1 ? weight : narrow(weight, 0, g * (O / groups), O / groups);
    const cols = unfold(xg, kernel, unfoldOpts); // [N, Cg*k, L]
    // [O/g, K] @ [N, K, L] -> [N, O/g, L]
    outs.push(matmulT(reshape(wg, [O / groups, K]), cols, false, false));
  }
  let y = outs.length === 1 ? outs[0] : cat(outs, 1); // [N, O, L]
  if (bias) y = add(y, reshape(bias, [O, 1]));
  const spatialOut = outSpatial(x.shape.slice(2), kernel, unfoldOpts);
  return reshape(y, [N, O, ...spatialOut]);
}

function outSpatial(spatial: number[], kernel: number[], o: { stride: number[]; padding: number[]; dilation: number[] }): number[] {
  return spatial.map((s, i) => Math.floor((s + 2 * o.padding[i] - o.dilation[i] * (kernel[i] - 1) - 1) / o.stride[i]) + 1);
}

export const conv1d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvOptions): Tensor => convNd(1, x, w, b, o);
export const conv2d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvOptions): Tensor => convNd(2, x, w, b, o);
export const conv3d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvOptions): Tensor => convNd(3, x, w, b, o);

export interface PoolOptions {
  stride?: number | number[];
  padding?: number | number[];
}

/** Pool each channel over windows: unfold to [N*C, k, L], reduce over k. */
function poolNd(nd: number, kind: "max" | "avg", x: Tensor, kernelSize: number | number[], options: PoolOptions = {}): Tensor {
  const op = `${kind}Pool${nd}d`;
  if (x.ndim !== nd + 2) throw new RangeError(`${op}: input must have rank ${nd + 2} ([N, C, ...]), got ${formatShape(x.shape)}`);
  const kernel = tupleOf(kernelSize, nd, 1, `${op}: kernelSize`);
  const stride = tupleOf(options.stride ?? kernel, nd, 1, `${op}: stride`);
  const padding = tupleOf(options.padding, nd, 0, `${op}: padding`);
  const [N, C] = x.shape;
  let xs = reshape(x, [N * C, 1, ...x.shape.slice(2)]);
  let unfoldPad = padding;
  if (kind === "max" && padding.some((p) => p > 0)) {
    // pad with -inf so padding never wins the max
    const pads: number[] = [];
    for (let i = nd - 1; i >= 0; i--) pads.push(padding[i], padding[i]);
    xs = pad(xs, pads, -Infinity);
    unfoldPad = padding.map(() => 0);
  }
  const cols = unfold(xs, kernel, { stride, padding: unfoldPad }); // [N*C, k, L]
  const pooled = kind === "max" ? max(cols, 1) : mean(cols, 1); // avg counts padding (count_include_pad)
  const spatial = outSpatial(x.shape.slice(2), kernel, { stride, padding, dilation: kernel.map(() => 1) });
  return reshape(pooled, [N, C, ...spatial]);
}

export const maxPool1d = (x: Tensor, k: number | number[], o?: PoolOptions): Tensor => poolNd(1, "max", x, k, o);
export const maxPool2d = (x: Tensor, k: number | number[], o?: PoolOptions): Tensor => poolNd(2, "max", x, k, o);
export const maxPool3d = (x: Tensor, k: number | number[], o?: PoolOptions): Tensor => poolNd(3, "max", x, k, o);
export const avgPool1d = (x: Tensor, k: number | number[], o?: PoolOptions): Tensor => poolNd(1, "avg", x, k, o);
export const avgPool2d = (x: Tensor, k: number | number[], o?: PoolOptions): Tensor => poolNd(2, "avg", x, k, o);
export const avgPool3d = (x: Tensor, k: number | number[], o?: PoolOptions): Tensor => poolNd(3, "avg", x, k, o);
