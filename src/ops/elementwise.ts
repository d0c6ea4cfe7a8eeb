// Elementwise ops with NumPy broadcasting, each with its backward rule beside it.

import type { BinaryOp, UnaryOp } from "../backend/backend.js";
import { allocate } from "../tensor/dtype.js";
import { emptyArray, emptyFloat32 } from "../tensor/memory.js";
import { broadcastShapes, padShape, sizeOf } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { asFloat, backend, lift, sumToShape } from "./util.js";

// --- unary -----------------------------------------------------------------------------------

function unaryOp(op: UnaryOp, x: Tensor): Tensor {
  const xf = asFloat(x);
  const out = emptyFloat32(xf.numel);
  backend().unary(op, xf.data as Float32Array, out);
  return Tensor.fromOp(op, out, xf.shape, [xf], (g) => {
    const dx = emptyFloat32(out.length);
    backend().unaryBackward(op, xf.data as Float32Array, out, g.data as Float32Array, dx);
    return [new Tensor(dx, xf.shape)];
  });
}

export const neg = (x: Tensor): Tensor => (x.dtype === "int32" ? mul(x, -1) : unaryOp("neg", x));
export const exp = (x: Tensor): Tensor => unaryOp("exp", x);
export const log = (x: Tensor): Tensor => unaryOp("log", x);
export const sqrt = (x: Tensor): Tensor => unaryOp("sqrt", x);
export const rsqrt = (x: Tensor): Tensor => unaryOp("rsqrt", x);
export const abs = (x: Tensor): Tensor => unaryOp("abs", x);
export const tanh = (x: Tensor): Tensor => unaryOp("tanh", x);
export const sigmoid = (x: Tensor): Tensor => unaryOp("sigmoid", x);
export const relu = (x: Tensor): Tensor => unaryOp("relu", x);
export const silu = (x: Tensor): Tensor => unaryOp("silu", x);
export const sin = (x: Tensor): Tensor => unaryOp("sin", x);
export const cos = (x: Tensor): Tensor => unaryOp("cos", x);
export const square = (x: Tensor): Tensor => unaryOp("square", x);
export const reciprocal = (x: Tensor): Tensor => unaryOp("reciprocal", x);
export const sign = (x: Tensor): Tensor => unaryOp("sign", x);

/** GELU: exact erf form by default; approximate: "tanh" for the GPT-2/BERT form. */
export function gelu(x: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  return unaryOp(approximate === "tanh" ? "geluTanh" : "gelu", x);
}

// --- binary ----------------------------------------------------------------------------------

const INT_PRESERVING: ReadonlySet<BinaryOp> = new Set(["add", "sub", "mul", "max", "min"]);
const COMPARISON: ReadonlySet<BinaryOp> = new Set(["eq", "ne", "lt", "le", "gt", "ge"]);

/** Raw broadcast binary op without autograd; comparisons return int32 0/1. */
export function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  let dtype: "float32" | "int32";
  if (COMPARISON.has(op)) dtype = "int32";
  else if (a.dtype === "int32" && b.dtype === "int32" && INT_PRESERVING.has(op)) dtype = "int32";
  else dtype = "float32";
  const out = emptyArray(dtype, sizeOf(shape));
  const ad = COMPARISON.has(op) || dtype === "int32" ? a.data : asFloat(a).data;
  const bd = COMPARISON.has(op) || dtype === "int32" ? b.data : asFloat(b).data;
  backend().binary(op, ad, padShape(a.shape, shape.length), bd, padShape(b.shape, shape.length), out, shape);
  return new Tensor(out, shape);
}

function binaryOp(op: BinaryOp, aIn: Tensor | number, bIn: Tensor | number,
  grads: (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null]): Tensor {
  const a = lift(aIn, bIn instanceof Tensor ? bIn.dtype : "float32");
  const b = lift(bIn, a.dtype);
  const r = binaryRaw(op, a, b);
  if (r.dtype !== "float32") return r;
  return Tensor.fromOp(op, r.data, r.shape, [a, b], (g) => {
    const [ga, gb] = grads(g, a, b, r);
    return [
      ga && a.requiresGrad ? sumToShape(ga, a.shape) : null,
      gb && b.requiresGrad ? sumToShape(gb, b.shape) : null,
    ];
  });
}

export function add(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp("add", a, b, (g) => [g, g]);
}

export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp("sub", a, b, (g, _a, bb) => [g, bb.requiresGrad ? binaryRaw("mul", g, lift(-1)) : null]);
}

export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp("mul", a, b, (g, aa, bb) => [
    aa.requiresGrad ? binaryRaw("mul", g, bb) : null,
    bb.requiresGrad ? binaryRaw("mul", g, aa) : null,
  ]);
}

export function div(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp("div", a, b, (g, aa, bb, out) => [
    aa.requiresGrad ? binaryRaw("div", g, bb) : null,
    // d(a/b)/db = -a/b^2 = -out/b
    bb.requiresGrad ? binaryRaw("mul", g, binaryRaw("div", binaryRaw("mul", out, lift(-1)), bb)) : null,
  ]);
}

export function pow(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp("pow", a, b, (g, aa, bb, out) => [
    // d(a^b)/da = b * a^(b-1)
    aa.requiresGrad ? binaryRaw("mul", g, binaryRaw("mul", bb, binaryRaw("pow", aa, binaryRaw("sub", bb, lift(1))))) : null,
    // d(a^b)/db = a^b * ln a
    bb.requiresGrad ? binaryRaw("mul", g, binaryRaw("mul", out, logRaw(aa))) : null,
  ]);
}

function logRaw(x: Tensor): Tensor {
  const xf = asFloat(x);
  const out = new Float32Array(xf.numel);
  backend().unary("log", xf.data as Float32Array, out);
  return new Tensor(out, xf.shape);
}

/** Elementwise maximum; the gradient goes to a where a >= b (ties to a). */
export function maximum(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp("max", a, b, (g, aa, bb) => {
    const pick = binaryRaw("ge", aa, bb);
    return [binaryRaw("mul", g, pick), binaryRaw("mul", g, binaryRaw("sub", lift(1, "int32"), pick))];
  });
}

export function minimum(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp("min", a, b, (g, aa, bb) => {
    const pick = binaryRaw("le", aa, bb);
    return [binaryRaw("mul", g, pick), binaryRaw("mul", g, binaryRaw("sub", lift(1, "int32"), pick))];
  });
}

// --- comparisons (no gradient; int32 0/1 results) ----------------------------------------------

export const eq = (a: Tensor, b: Tensor | number): Tensor => binaryRaw("eq", a, lift(b, a.dtype));
export const ne = (a: Tensor, b: Tensor | number): Tensor => binaryRaw("ne", a, lift(b, a.dtype));
export const lt = (a: Tensor, b: Tensor | number): Tensor => binaryRaw("lt", a, lift(b, a.dtype));
export const le = (a: Tensor, b: Tensor | number): Tensor => binaryRaw("le", a, lift(b, a.dtype));
export const gt = (a: Tensor, b: Tensor | number): Tensor => binaryRaw("gt", a, lift(b, a.dtype));
export const ge = (a: Tensor, b: Tensor | number): Tensor => binaryRaw("ge", a, lift(b, a.dtype));

// --- selection ---------------------------------------------------------------------------------

/** Broadcast a tensor's values to `shape` (no autograd; a copy). */
export function broadcastRaw(x: Tensor, shape: number[]): Tensor {
  const zero = new Tensor(allocate(x.dtype, 1), []);
  const out = allocate(x.dtype, sizeOf(shape));
  backend().binary("add", x.data, padShape(x.shape, shape.length), zero.data, padShape([], shape.length), out, shape);
  return new Tensor(out, shape);
}

/** where(cond, a, b): a where cond is nonzero, else b; all three broadcast together. */
export function where(cond: Tensor, aIn: Tensor | number, bIn: Tensor | number): Tensor {
  const a = asFloat(lift(aIn)), b = asFloat(lift(bIn));
  const shape = broadcastShapes("where", broadcastShapes("where", cond.shape, a.shape), b.shape);
  const keep = broadcastRaw(cond, shape).data;
  const ad = broadcastRaw(a, shape).data, bd = broadcastRaw(b, shape).data;
  const out = new Float32Array(keep.length);
  for (let i = 0; i < out.length; i++) out[i] = keep[i] !== 0 ? ad[i] : bd[i];
  return Tensor.fromOp("where", out, shape, [a, b], (g) => {
    const ga = new Float32Array(g.numel), gb = new Float32Array(g.numel);
    const gd = g.data;
    for (let i = 0; i < gd.length; i++) {
      if (keep[i] !== 0) ga[i] = gd[i];
      else gb[i] = gd[i];
    }
    return [
      a.requiresGrad ? sumToShape(new Tensor(ga, shape), a.shape) : null,
      b.requiresGrad ? sumToShape(new Tensor(gb, shape), b.shape) : null,
    ];
  });
}

/** Fill positions where mask is nonzero with value (mask broadcasts to x's shape). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  const shape = broadcastShapes("maskedFill", x.shape, mask.shape);
  if (shape.length !== x.ndim || shape.some((d, i) => d !== x.shape[i])) {
    throw new RangeError(`maskedFill: mask shape [${mask.shape.join(", ")}] must broadcast to the input shape [${x.shape.join(", ")}]`);
  }
  return where(mask, value, x);
}

/** clamp(x, min?, max?): the gradient passes where x is inside the range. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const xf = asFloat(x);
  const xd = xf.data;
  const lo = min ?? -Infinity, hi = max ?? Infinity;
  if (lo > hi) throw new RangeError(`clamp: min (${lo}) is greater than max (${hi})`);
  const out = new Float32Array(xd.length);
  for (let i = 0; i < xd.length; i++) out[i] = xd[i] < lo ? lo : xd[i] > hi ? hi : xd[i];
  return Tensor.fromOp("clamp", out, xf.shape, [xf], (g) => {
    const dx = new Float32Array(xd.length);
    const gd = g.data;
    for (let i = 0; i < xd.length; i++) dx[i] = xd[i] >= lo && xd[i] <= hi ? gd[i] : 0;
    return [new Tensor(dx, xf.shape)];
  });
}

/** Change dtype: float32 <-> int32 (truncating toward zero), differentiable float to float. */
export function cast(x: Tensor, dtype: "float32" | "int32"): Tensor {
  if (x.dtype === dtype) return x;
  if (dtype === "float32") return new Tensor(Float32Array.from(x.data), x.shape);
  return new Tensor(Int32Array.from(x.data, (v) => Math.trunc(v)), x.shape);
}
