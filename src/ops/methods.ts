// Attach the ops to Tensor as methods (t.add(u), t.softmax(-1), ...). Tensor lives in the layer
// below, so the methods are installed here and declared on the class by declaration merging.

import { Tensor } from "../tensor/tensor.js";
import * as ew from "./elementwise.js";
import * as fn from "./functional.js";
import { matmul, type MatmulOptions } from "./matmul.js";
import * as red from "./reduce.js";
import * as sh from "./shape.js";

declare module "../tensor/tensor.js" {
  interface Tensor {
    add(other: Tensor | number): Tensor;
    sub(other: Tensor | number): Tensor;
    mul(other: Tensor | number): Tensor;
    div(other: Tensor | number): Tensor;
    pow(exponent: Tensor | number): Tensor;
    maximum(other: Tensor | number): Tensor;
    minimum(other: Tensor | number): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    abs(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    gelu(approximate?: "none" | "tanh"): Tensor;
    silu(): Tensor;
    square(): Tensor;
    clamp(min?: number | null, max?: number | null): Tensor;
    eq(other: Tensor | number): Tensor;
    ne(other: Tensor | number): Tensor;
    lt(other: Tensor | number): Tensor;
    le(other: Tensor | number): Tensor;
    gt(other: Tensor | number): Tensor;
    ge(other: Tensor | number): Tensor;
    maskedFill(mask: Tensor, value: number): Tensor;
    float(): Tensor;
    int(): Tensor;
    sum(dims?: number | number[], keepdim?: boolean): Tensor;
    mean(dims?: number | number[], keepdim?: boolean): Tensor;
    max(dims?: number | number[], keepdim?: boolean): Tensor;
    min(dims?: number | number[], keepdim?: boolean): Tensor;
    argmax(dim?: number, keepdim?: boolean): Tensor;
    argmin(dim?: number, keepdim?: boolean): Tensor;
    var(dims?: number | number[], keepdim?: boolean, correction?: number): Tensor;
    logsumexp(dims?: number | number[], keepdim?: boolean): Tensor;
    matmul(other: Tensor, options?: MatmulOptions): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
    reshape(shape: readonly number[]): Tensor;
    reshape(...shape: number[]): Tensor;
    view(shape: readonly number[]): Tensor;
    view(...shape: number[]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    squeeze(dim?: number): Tensor;
    unsqueeze(dim: number): Tensor;
    permute(dims: readonly number[]): Tensor;
    permute(...dims: number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    /** Transpose of the last two dims. */
    readonly T: Tensor;
    expand(shape: readonly number[]): Tensor;
    expand(...shape: number[]): Tensor;
    slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    indexSelect(dim: number, index: Tensor): Tensor;
    gather(dim: number, index: Tensor): Tensor;
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    split(splitSize: number | number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
    pad(pads: readonly number[], value?: number): Tensor;
  }
}

function shapeArgs(args: unknown[]): number[] {
  return Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}

const P = Tensor.prototype;
P.add = function (o) { return ew.add(this, o); };
P.sub = function (o) { return ew.sub(this, o); };
P.mul = function (o) { return ew.mul(this, o); };
P.div = function (o) { return ew.div(this, o); };
P.pow = function (o) { return ew.pow(this, o); };
P.maximum = function (o) { return ew.maximum(this, o); };
P.minimum = function (o) { return ew.minimum(this, o); };
P.neg = function () { return ew.neg(this); };
P.exp = function () { return ew.exp(this); };
P.log = function () { return ew.log(this); };
P.sqrt = function () { return ew.sqrt(this); };
P.rsqrt = function () { return ew.rsqrt(this); };
P.abs = function () { return ew.abs(this); };
P.tanh = function () { return ew.tanh(this); };
P.sigmoid = function () { return ew.sigmoid(this); };
P.relu = function () { return ew.relu(this); };
P.gelu = function (a) { return ew.gelu(this, a); };
P.silu = function () { return ew.silu(this); };
P.square = function () { return ew.square(this); };
P.clamp = function (lo, hi) { return ew.clamp(this, lo, hi); };
P.eq = function (o) { return ew.eq(this, o); };
P.ne = function (o) { return ew.ne(this, o); };
P.lt = function (o) { return ew.lt(this, o); };
P.le = function (o) { return ew.le(this, o); };
P.gt = function (o) { return ew.gt(this, o); };
P.ge = function (o) { return ew.ge(this, o); };
P.maskedFill = function (m, v) { return ew.maskedFill(this, m, v); };
P.float = function () { return ew.cast(this, "float32"); };
P.int = function () { return ew.cast(this, "int32"); };
P.sum = function (d, k) { return red.sum(this, d, k); };
P.mean = function (d, k) { return red.mean(this, d, k); };
P.max = function (d, k) { return red.max(this, d, k); };
P.min = function (d, k) { return red.min(this, d, k); };
P.argmax = function (d, k) { return red.argmax(this, d, k); };
P.argmin = function (d, k) { return red.argmin(this, d, k); };
P.var = function (d, k, c) { return red.variance(this, d, k, c); };
P.logsumexp = function (d, k) { return red.logsumexp(this, d, k); };
P.matmul = function (o, opt) { return matmul(this, o, opt); };
P.softmax = function (d = -1) { return fn.softmax(this, d); };
P.logSoftmax = function (d = -1) { return fn.logSoftmax(this, d); };
P.reshape = function (this: Tensor, ...a: unknown[]) { return sh.reshape(this, shapeArgs(a)); } as Tensor["reshape"];
P.view = P.reshape;
P.flatten = function (s, e) { return sh.flatten(this, s, e); };
P.squeeze = function (d) { return sh.squeeze(this, d); };
P.unsqueeze = function (d) { return sh.unsqueeze(this, d); };
P.permute = function (this: Tensor, ...a: unknown[]) { return sh.permute(this, shapeArgs(a)); } as Tensor["permute"];
P.transpose = function (a, b) { return sh.transpose(this, a, b); };
Object.defineProperty(P, "T", { get(this: Tensor) { return sh.transpose(this, -2, -1); } });
P.expand = function (this: Tensor, ...a: unknown[]) { return sh.expand(this, shapeArgs(a)); } as Tensor["expand"];
P.slice = function (d, s, e, st) { return sh.slice(this, d, s, e, st); };
P.narrow = function (d, s, l) { return sh.narrow(this, d, s, l); };
P.indexSelect = function (d, i) { return sh.indexSelect(this, d, i); };
P.gather = function (d, i) { return sh.gather(this, d, i); };
P.scatterAdd = function (d, i, s) { return sh.scatterAdd(this, d, i, s); };
P.split = function (s, d) { return sh.split(this, s, d); };
P.chunk = function (c, d) { return sh.chunk(this, c, d); };
P.pad = function (p, v) { return sh.pad(this, p, v); };
