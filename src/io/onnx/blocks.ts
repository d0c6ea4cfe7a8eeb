// Building blocks shared by the exporters: each emits the ONNX nodes that compute what the
// matching tsformer module computes (Linear, LayerNorm, GELU, multi-head attention).

import type { LayerNorm, Linear } from "../../nn/layers.js";
import type { Conv1D } from "../../models/gpt.js";
import { floatConst, int64Const, type OnnxGraph } from "./graph.js";

const scalars = new WeakMap<OnnxGraph, Map<string, string>>();

/** A float32 scalar constant, shared by every use in the graph. */
export function scalar(g: OnnxGraph, v: number): string {
  let m = scalars.get(g);
  if (!m) scalars.set(g, (m = new Map()));
  const key = String(v);
  if (!m.has(key)) m.set(key, g.initializer("c", floatConst([v], [])));
  return m.get(key)!;
}

/** An int64 vector constant (shapes, axes, indices). */
export function ints(g: OnnxGraph, values: number[], hint = "shape"): string {
  return g.initializer(hint, int64Const(values));
}

/** y = x W^T + b, with W stored transposed ([in, out]) so MatMul reads it directly. */
export function linear(g: OnnxGraph, x: string, m: Linear, name: string): string {
  const y = g.node("MatMul", [x, g.weight(`${name}.weight`, m.weight, { transpose: true })]);
  return m.bias ? g.node("Add", [y, g.weight(`${name}.bias`, m.bias)]) : y;
}

/** GPT-2's Conv1D: y = x W + b with W already [in, out]. */
export function conv1d(g: OnnxGraph, x: string, m: Conv1D, name: string): string {
  return g.node("Add", [g.node("MatMul", [x, g.weight(`${name}.weight`, m.weight)]), g.weight(`${name}.bias`, m.bias)]);
}

export function layerNorm(g: OnnxGraph, x: string, m: LayerNorm, name: string): string {
  if (!m.weight || !m.bias) throw new Error(`ONNX export: ${name} is a LayerNorm without weight or bias`);
  return g.node("LayerNormalization", [x, g.weight(`${name}.weight`, m.weight), g.weight(`${name}.bias`, m.bias)], { axis: -1, epsilon: { float: m.eps } });
}

/** GELU: exact 0.5 x (1 + erf(x / sqrt 2)), or the tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function gelu(g: OnnxGraph, x: string, approximate: "none" | "tanh"): string {
  let inner: string;
  if (approximate === "none") {
    inner = g.node("Erf", [g.node("Mul", [x, scalar(g, Math.SQRT1_2)])]);
  } else {
    const x3 = g.node("Mul", [x, g.node("Mul", [x, x])]);
    const u = g.node("Add", [x, g.node("Mul", [x3, scalar(g, 0.044715)])]);
    inner = g.node("Tanh", [g.node("Mul", [u, scalar(g, Math.sqrt(2 / Math.PI))])]);
  }
  return g.node("Mul", [g.node("Mul", [x, g.node("Add", [inner, scalar(g, 1)])]), scalar(g, 0.5)]);
}

/**
 * softmax(Q K^T / sqrt(d) + bias) V for H heads read side by side from [B, T, H*d] inputs;
 * bias (optional) broadcasts to [B, H, T, T] (causal or padding mask).
 */
export function attention(g: OnnxGraph, q: string, k: string, v: string, heads: number, width: number, bias?: string): string {
  const d = width / heads;
  const split = ints(g, [0, 0, heads, d]);
  const qh = g.node("Transpose", [g.node("Reshape", [q, split])], { perm: [0, 2, 1, 3] }); // [B, H, T, d]
  const kt = g.node("Transpose", [g.node("Reshape", [k, split])], { perm: [0, 2, 3, 1] }); // [B, H, d, T]
  const vh = g.node("Transpose", [g.node("Reshape", [v, split])], { perm: [0, 2, 1, 3] }); // [B, H, T, d]
  let s = g.node("Mul", [g.node("MatMul", [qh, kt]), scalar(g, 1 / Math.sqrt(d))]); // [B, H, T, T]
  if (bias) s = g.node("Add", [s, bias]);
  const ctx = g.node("MatMul", [g.node("Softmax", [s], { axis: -1 }), vh]); // [B, H, T, d]
  return g.node("Reshape", [g.node("Transpose", [ctx], { perm: [0, 2, 1, 3] }), ints(g, [0, 0, width])]); // [B, T, H*d]
}
