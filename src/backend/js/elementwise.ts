// Reference elementwise kernels: unary ops with their derivatives, broadcast binary ops.

import type { BinaryOp, Data, F32, UnaryOp } from "../backend.js";
import { INV_SQRT_2, INV_SQRT_2PI, SQRT_2_OVER_PI, erf } from "./math.js";

function unaryFn(op: UnaryOp): (x: number) => number {
  switch (op) {
    case "neg": return (x) => -x;
    case "exp": return Math.exp;
    case "log": return Math.log;
    case "sqrt": return Math.sqrt;
    case "rsqrt": return (x) => 1 / Math.sqrt(x);
    case "abs": return Math.abs;
    case "tanh": return Math.tanh;
    case "sigmoid": return (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
    case "relu": return (x) => (x > 0 ? x : 0);
    // GELU, exact: x * Phi(x) (Hendrycks & Gimpel 2016)
    case "gelu": return (x) => 0.5 * x * (1 + erf(x * INV_SQRT_2));
    // GELU, tanh approximation (the form GPT-2 and BERT's original code use)
    case "geluTanh": return (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
    case "silu": return (x) => x / (1 + Math.exp(-x));
    case "sin": return Math.sin;
    case "cos": return Math.cos;
    case "square": return (x) => x * x;
    case "reciprocal": return (x) => 1 / x;
    case "sign": return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
  }
}

/** d f(x) / dx, given x and y = f(x). */
function derivFn(op: UnaryOp): (x: number, y: number) => number {
  switch (op) {
    case "neg": return () => -1;
    case "exp": return (_x, y) => y;
    case "log": return (x) => 1 / x;
    case "sqrt": return (_x, y) => 0.5 / y;
    case "rsqrt": return (_x, y) => -0.5 * y * y * y;
    case "abs": return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case "tanh": return (_x, y) => 1 - y * y;
    case "sigmoid": return (_x, y) => y * (1 - y);
    case "relu": return (x) => (x > 0 ? 1 : 0);
    case "gelu": return (x) => 0.5 * (1 + erf(x * INV_SQRT_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case "geluTanh": return (x) => {
      const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
      const t = Math.tanh(u);
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
    };
    case "silu": return (x) => {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 + x * (1 - s));
    };
    case "sin": return Math.cos;
    case "cos": return (x) => -Math.sin(x);
    case "square": return (x) => 2 * x;
    case "reciprocal": return (_x, y) => -y * y;
    case "sign": return () => 0;
  }
}

export function unary(op: UnaryOp, x: F32, out: F32): void {
  const f = unaryFn(op);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
}

export function unaryBackward(op: UnaryOp, x: F32, y: F32, dy: F32, dx: F32): void {
  const d = derivFn(op);
  for (let i = 0; i < x.length; i++) dx[i] = dy[i] * d(x[i], y[i]);
}

function binaryFn(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case "add": return (a, b) => a + b;
    case "sub": return (a, b) => a - b;
    case "mul": return (a, b) => a * b;
    case "div": return (a, b) => a / b;
    case "pow": return Math.pow;
    case "max": return (a, b) => (a >= b || Number.isNaN(a) ? a : b);
    case "min": return (a, b) => (a <= b || Number.isNaN(a) ? a : b);
    case "eq": return (a, b) => (a === b ? 1 : 0);
    case "ne": return (a, b) => (a !== b ? 1 : 0);
    case "lt": return (a, b) => (a < b ? 1 : 0);
    case "le": return (a, b) => (a <= b ? 1 : 0);
    case "gt": return (a, b) => (a > b ? 1 : 0);
    case "ge": return (a, b) => (a >= b ? 1 : 0);
  }
}

/** out = a op b; aShape and bShape have outShape's rank, with 1 where they broadcast. */
export function binary(op: BinaryOp, a: Data, aShape: number[], b: Data, bShape: number[], out: Data, outShape: number[]): void {
  const n = out.length;
  if (op === "add" && a.length === n && b.length === n) {
    for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
    return;
  }
  if (op === "mul" && a.length === n && b.length === n) {
    for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
    return;
  }
  const f = binaryFn(op);
  if (a.length === n && b.length === n) {
    for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]);
    return;
  }
  if (b.length === 1 && a.length === n) {
    const bv = b[0];
    for (let i = 0; i < n; i++) out[i] = f(a[i], bv);
    return;
  }
  if (a.length === 1 && b.length === n) {
    const av = a[0];
    for (let i = 0; i < n; i++) out[i] = f(av, b[i]);
    return;
  }
  // b repeats along the leading dims (bias add: [B, T, C] + [C]).
  if (a.length === n && n % b.length === 0 && isSuffix(bShape, outShape)) {
    const m = b.length;
    for (let i = 0; i < n; i += m) for (let j = 0; j < m; j++) out[i + j] = f(a[i + j], b[j]);
    return;
  }
  // General case: walk the output with broadcast strides (0 where a dim broadcasts).
  const rank = outShape.length;
  const sa = bcastStrides(aShape), sb = bcastStrides(bShape);
  const last = rank - 1;
  const inner = outShape[last];
  const saL = sa[last], sbL = sb[last];
  const idx = new Array<number>(rank).fill(0);
  let ia = 0, ib = 0;
  for (let o = 0; o < n; o += inner) {
    let pa = ia, pb = ib;
    for (let j = 0; j < inner; j++) {
      out[o + j] = f(a[pa], b[pb]);
      pa += saL;
      pb += sbL;
    }
    // advance the odometer over dims [0, last)
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < outShape[d]) break;
      ia -= sa[d] * outShape[d];
      ib -= sb[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

function isSuffix(bShape: number[], outShape: number[]): boolean {
  // b's non-one dims form a trailing block equal to out's trailing dims
  let i = 0;
  while (i < bShape.length && bShape[i] === 1) i++;
  for (let j = i; j < bShape.length; j++) if (bShape[j] !== outShape[j]) return false;
  return true;
}

function bcastStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = shape[i] === 1 ? 0 : acc;
    acc *= shape[i];
  }
  return s;
}

export function axpy(a: F32, b: F32, alpha: number, out: F32): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + alpha * b[i];
}

export function fill(out: Data, value: number): void {
  out.fill(value);
}

export function permute(x: Data, shape: number[], perm: number[], out: Data): void {
  const rank = shape.length;
  const inStrides = new Array<number>(rank);
  let acc = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = acc;
    acc *= shape[i];
  }
  const outShape = perm.map((p) => shape[p]);
  const st = perm.map((p) => inStrides[p]); // input stride for each output dim
  const n = out.length;
  if (rank === 0 || n === 0) {
    if (n) out[0] = x[0];
    return;
  }
  const last = rank - 1;
  const inner = outShape[last], sL = st[last];
  const idx = new Array<number>(rank).fill(0);
  let base = 0;
  const contiguousRows = sL === 1 && inner >= 16; // copy whole rows at once
  for (let o = 0; o < n; o += inner) {
    if (contiguousRows) {
      out.set(x.subarray(base, base + inner), o);
    } else {
      let p = base;
      for (let j = 0; j < inner; j++) {
        out[o + j] = x[p];
        p += sL;
      }
    }
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      base += st[d];
      if (idx[d] < outShape[d]) break;
      base -= st[d] * outShape[d];
      idx[d] = 0;
    }
  }
}
