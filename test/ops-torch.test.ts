// Forward values and input gradients of the ops against PyTorch 1.13.
// Fixtures: test/fixtures/ops.json, written by `/usr/bin/python3 scripts/fixtures/ops.py`
// (inputs rounded to float32, reference in float64; gradients of sum(out * w)).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import * as T from "../src/index.js";
import { type Tensor, tensor } from "../src/index.js";
import { assertClose } from "./helpers/gradcheck.js";

interface FixtureTensor { shape: number[]; dtype: "float32" | "int32"; data: number[] }
interface Case {
  name: string;
  op: string;
  params: Record<string, unknown>;
  inputs: FixtureTensor[];
  out: { shape: number[]; data: number[] };
  w: number[];
  grads: (number[] | null)[];
}

const fixture = JSON.parse(readFileSync(new URL("../../test/fixtures/ops.json", import.meta.url), "utf8")) as { torch: string; cases: Case[] };

type P = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type OpFn = (xs: Tensor[], p: P) => Tensor;

const unary = (f: (x: Tensor) => Tensor): OpFn => ([x]) => f(x);
const binary = (f: (a: Tensor, b: Tensor) => Tensor): OpFn => ([a, b]) => f(a, b);
const dimsArg = (p: P): number[] | undefined => (p.dims === null ? undefined : p.dims);
const weighted = (ps: Tensor[], dim: number): Tensor => T.cat(ps.map((t, i) => t.mul(i + 1)), dim);

/** Each fixture op name, as a tsformer call. */
const OPS: Record<string, OpFn> = {
  neg: unary(T.neg), exp: unary(T.exp), log: unary(T.log), sqrt: unary(T.sqrt), rsqrt: unary(T.rsqrt), abs: unary(T.abs),
  tanh: unary(T.tanh), sigmoid: unary(T.sigmoid), relu: unary(T.relu), gelu: unary((x) => T.gelu(x)),
  geluTanh: unary((x) => T.gelu(x, "tanh")), silu: unary(T.silu), sin: unary(T.sin), cos: unary(T.cos),
  square: unary(T.square), reciprocal: unary(T.reciprocal),
  add: binary(T.add), sub: binary(T.sub), mul: binary(T.mul), div: binary(T.div), pow: binary(T.pow),
  maximum: binary(T.maximum), minimum: binary(T.minimum),
  where: ([c, a, b]) => T.where(c, a, b),
  maskedFill: ([x, m], p) => T.maskedFill(x, m, p.value),
  clamp: ([x], p) => T.clamp(x, p.min, p.max),
  sum: ([x], p) => T.sum(x, dimsArg(p), p.keepdim),
  mean: ([x], p) => T.mean(x, dimsArg(p), p.keepdim),
  var: ([x], p) => T.variance(x, dimsArg(p), p.keepdim),
  logsumexp: ([x], p) => T.logsumexp(x, dimsArg(p), p.keepdim),
  max: ([x], p) => T.max(x, dimsArg(p), p.keepdim),
  min: ([x], p) => T.min(x, dimsArg(p), p.keepdim),
  reshape: ([x], p) => T.reshape(x, p.shape),
  permute: ([x], p) => T.permute(x, p.dims),
  transpose: ([x], p) => T.transpose(x, p.dim0, p.dim1),
  expand: ([x], p) => T.expand(x, p.shape),
  slice: ([x], p) => T.slice(x, p.dim, p.start, p.end ?? undefined, p.step),
  narrow: ([x], p) => T.narrow(x, p.dim, p.start, p.length),
  indexSelect: ([x, i], p) => T.indexSelect(x, p.dim, i),
  gather: ([x, i], p) => T.gather(x, p.dim, i),
  scatterAdd: ([x, i, s], p) => T.scatterAdd(x, p.dim, i, s),
  cat: (xs, p) => T.cat(xs, p.dim),
  stack: (xs, p) => T.stack(xs, p.dim),
  split: ([x], p) => weighted(T.split(x, p.size, p.dim), p.dim),
  chunk: ([x], p) => weighted(T.chunk(x, p.chunks, p.dim), p.dim),
  pad: ([x], p) => T.pad(x, p.pads, p.value),
  flatten: ([x], p) => T.flatten(x, p.start, p.end),
  squeeze: ([x], p) => T.squeeze(x, p.dim ?? undefined),
  unsqueeze: ([x], p) => T.unsqueeze(x, p.dim),
  unfold: ([x], p) => T.unfold(x, p.kernel, { stride: p.stride, padding: p.padding, dilation: p.dilation }),
  matmul: ([a, b], p) => T.matmul(a, b, { transA: p.transA, transB: p.transB }),
  linear: ([x, w, b]) => T.linear(x, w, b),
  softmax: ([x], p) => T.softmax(x, p.dim),
  logSoftmax: ([x], p) => T.logSoftmax(x, p.dim),
  layerNorm: (xs, p) => T.layerNorm(xs[0], p.shape, p.weight ? xs[1] : null, p.bias ? xs[p.weight ? 2 : 1] : null),
  embedding: ([i, w]) => T.embedding(i, w),
  crossEntropy: ([x, t], p) => T.crossEntropy(x, t, { ignoreIndex: p.ignoreIndex, labelSmoothing: p.labelSmoothing, reduction: p.reduction }),
  mseLoss: ([a, b], p) => T.mseLoss(a, b, p.reduction),
  binaryCrossEntropy: ([a, b], p) => T.binaryCrossEntropy(a, b, p.reduction),
  binaryCrossEntropyWithLogits: ([a, b], p) => T.binaryCrossEntropyWithLogits(a, b, p.reduction),
  conv: ([x, w, b], p) => T.convNd(p.nd, x, w, b ?? null, { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups }),
  maxPool: ([x], p) => [T.maxPool1d, T.maxPool2d, T.maxPool3d][p.nd - 1](x, p.kernel, { stride: p.stride, padding: p.padding }),
  avgPool: ([x], p) => [T.avgPool1d, T.avgPool2d, T.avgPool3d][p.nd - 1](x, p.kernel, { stride: p.stride, padding: p.padding }),
  sdpa: ([q, k, v, m], p) => T.scaledDotProductAttention(q, k, v, { causal: p.causal ?? false, scale: p.scale, mask: m ?? null }),
};

// float32 forward against a float64 reference: 1e-5 absolute plus 1e-5 relative (observed errors are below 2e-6)
const ATOL = 1e-5, RTOL = 1e-5;

describe(`ops against PyTorch ${fixture.torch}`, () => {
  test("every fixture op is mapped and the fixture covers the op list", () => {
    const ops = new Set(fixture.cases.map((c) => c.op));
    for (const op of ops) assert.ok(OPS[op], `no tsformer mapping for fixture op ${op}`);
    for (const op of Object.keys(OPS)) assert.ok(ops.has(op), `fixture has no case for ${op}`);
  });

  for (const c of fixture.cases) {
    test(c.name, () => {
      const fn = OPS[c.op];
      const inputs = c.inputs.map((t, i) =>
        t.dtype === "int32" ? tensor(new Int32Array(t.data), t.shape) : tensor(new Float32Array(t.data), t.shape, { requiresGrad: c.grads[i] !== null }));
      const y = fn(inputs, c.params);
      assert.deepEqual(y.shape, c.out.shape, `${c.name}: output shape`);
      assertClose(y.data, c.out.data, ATOL, RTOL, `${c.name}: forward`);
      const w = tensor(new Float32Array(c.w), c.out.shape);
      y.mul(w).sum().backward();
      c.grads.forEach((g, i) => {
        if (g === null) return;
        const got = inputs[i].grad;
        assert.ok(got, `${c.name}: input ${i} got no gradient`);
        assert.deepEqual(got.shape, c.inputs[i].shape, `${c.name}: grad ${i} shape`);
        assertClose(got.data, g, ATOL, RTOL, `${c.name}: grad of input ${i}`);
      });
    });
  }
});
