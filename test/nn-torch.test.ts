// Layers and losses against PyTorch 1.13 (fixtures from scripts/fixtures/nn.py).
// Parameters are set through loadStateDict with PyTorch's own names, so this also checks that
// tsformer's dotted names match torch's state_dict keys.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { nn, F, tensor, Tensor, availableBackends, withBackend } from "../src/index.js";

interface FT { shape: number[]; data: number[]; dtype?: "int32" }
interface LayerCase {
  name: string; kind: string; config: Record<string, unknown>;
  params: Record<string, FT>; input: FT; output: FT; gradOutput: FT;
  paramGrads: Record<string, FT>; inputGrad?: FT;
}
interface LossCase {
  name: string; kind: string; options: Record<string, unknown>;
  input: FT; target: FT; output: FT; gradOutput: FT; inputGrad: FT;
}

const fixture = JSON.parse(readFileSync(new URL("../../test/fixtures/nn.json", import.meta.url), "utf8")) as {
  layers: LayerCase[]; losses: LossCase[];
};

function fromFixture(f: FT, requiresGrad = false): Tensor {
  if (f.dtype === "int32") return tensor(Int32Array.from(f.data), f.shape, { dtype: "int32" });
  return tensor(Float32Array.from(f.data), f.shape, { requiresGrad });
}

/** |a - b| <= atol + rtol * |b| elementwise, with a message naming the first bad index. */
function assertClose(actual: Tensor | null, expected: FT, what: string, rtol = 1e-5, atol = 1e-5): void {
  assert.ok(actual, `${what}: missing`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  let worst = -1, worstErr = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i], e = expected.data[i];
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(err <= 0) && (worst < 0 || err > worstErr)) { worst = i; worstErr = err; }
  }
  if (worst >= 0) {
    assert.fail(`${what}: index ${worst}: got ${actual.data[worst]}, expected ${expected.data[worst]}`);
  }
}


type AnyModule = nn.Module & { forward(x: Tensor): Tensor };

function build(c: LayerCase): AnyModule {
  const o = c.config as Record<string, any>;
  const conv = { stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups, bias: o.bias ?? true };
  switch (c.kind) {
    case "Linear": return new nn.Linear(o.in, o.out, { bias: o.bias ?? true });
    case "Embedding": return new nn.Embedding(o.num, o.dim);
    case "LayerNorm": return new nn.LayerNorm(o.shape, o.eps);
    case "Conv1d": return new nn.Conv1d(o.in, o.out, o.kernel, conv);
    case "Conv2d": return new nn.Conv2d(o.in, o.out, o.kernel, conv);
    case "Conv3d": return new nn.Conv3d(o.in, o.out, o.kernel, conv);
    case "MaxPool2d": return new nn.MaxPool2d(o.kernel, { stride: o.stride, padding: o.padding });
    case "AvgPool2d": return new nn.AvgPool2d(o.kernel, { stride: o.stride, padding: o.padding });
    case "GELU": return new nn.GELU(o.approximate);
    case "MLP": {
      const [a, b, d] = o.sizes as number[];
      return new nn.Sequential(new nn.Linear(a, b), new nn.ReLU(), new nn.Linear(b, d));
    }
    default: throw new Error(`unknown layer kind ${c.kind}`);
  }
}

for (const backend of availableBackends()) for (const c of fixture.layers) {
  test(`[${backend}] layer ${c.name} matches torch (forward, param and input grads)`, () => withBackend(backend, () => {
    const m = build(c);
    const sd: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(c.params)) sd[k] = fromFixture(v);
    // strict: names and shapes must be exactly torch's
    m.loadStateDict(sd);
    assert.deepEqual(m.namedParameters().map(([n]) => n), Object.keys(c.paramGrads), "parameter names and order");
    const x = fromFixture(c.input, c.inputGrad !== undefined);
    const y = m.forward(x);
    assertClose(y, c.output, `${c.name} output`);
    F.sum(F.mul(y, fromFixture(c.gradOutput))).backward();
    for (const [name, p] of m.namedParameters()) assertClose(p.grad, c.paramGrads[name], `${c.name} grad of ${name}`, 1e-4, 1e-4);
    if (c.inputGrad) assertClose(x.grad, c.inputGrad, `${c.name} input grad`, 1e-4, 1e-4);
  }));
}

function lossFn(c: LossCase): (x: Tensor, t: Tensor) => Tensor {
  const o = c.options as Record<string, any>;
  const reduction = o.reduction ?? "mean";
  switch (c.kind) {
    case "crossEntropy": return (x, t) => new nn.CrossEntropyLoss(o).forward(x, t);
    case "mse": return (x, t) => new nn.MSELoss(reduction).forward(x, t);
    case "bce": return (x, t) => new nn.BCELoss(reduction).forward(x, t);
    case "bceWithLogits": return (x, t) => new nn.BCEWithLogitsLoss(reduction).forward(x, t);
    default: throw new Error(`unknown loss ${c.kind}`);
  }
}

for (const backend of availableBackends()) for (const c of fixture.losses) {
  test(`[${backend}] loss ${c.name} matches torch (value and grad)`, () => withBackend(backend, () => {
    const x = fromFixture(c.input, true);
    const t = fromFixture(c.target);
    const out = lossFn(c)(x, t);
    assertClose(out, c.output, `${c.name} value`);
    F.sum(F.mul(out, fromFixture(c.gradOutput))).backward();
    assertClose(x.grad, c.inputGrad, `${c.name} grad`);
  }));
}

test("functional crossEntropy agrees with the module form", () => {
  const c = fixture.losses.find((l) => l.name === "ce-ignore-smooth")!;
  const a = F.crossEntropy(fromFixture(c.input), fromFixture(c.target), { ignoreIndex: 2, labelSmoothing: 0.2 });
  assertClose(a, c.output, "functional crossEntropy");
});
