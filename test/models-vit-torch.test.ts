// ViT, hybrid ViT, the ResNet baseline, GroupNorm and position-embedding resizing against
// PyTorch 1.13 (fixtures from scripts/fixtures/vit.py, which writes Hugging Face's ViT forward
// out in plain torch). Weights go in through loadStateDict with HF's names, so this also checks
// the parameter names; gradients are of sum(logits * gradOutput).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { availableBackends, models, nn, position, tensor, Tensor, withBackend } from "../src/index.js";

interface FT { shape: number[]; data: number[] }
interface ModelCase {
  name: string; config: Record<string, unknown>; params: Record<string, FT>; input: FT; logits: FT;
  lastHiddenState: FT | null; gradOutput: FT; paramGrads: Record<string, FT>;
}
const fixture = JSON.parse(readFileSync(new URL("../../test/fixtures/vit.json", import.meta.url), "utf8")) as {
  vit: ModelCase; resnet: ModelCase; hybrid: ModelCase;
  groupNorm: { numGroups: number; input: FT; weight: FT; bias: FT; output: FT; gradOutput: FT; inputGrad: FT; weightGrad: FT; biasGrad: FT };
  resize: { input: FT; cases: { newH: number; newW: number; output: FT }[] };
};

const t = (f: FT, requiresGrad = false): Tensor => tensor(Float32Array.from(f.data), f.shape, { requiresGrad });

function close(actual: Tensor, expected: FT, tol: number, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const err = Math.abs(actual.data[i] - expected.data[i]) / Math.max(1, Math.abs(expected.data[i]));
    worst = Math.max(worst, err);
  }
  assert.ok(worst <= tol, `${what}: max error ${worst.toExponential(2)} > ${tol}`);
}

function build(c: ModelCase): models.ViTForImageClassification<models.PatchEmbedder> | models.ResNetForImageClassification {
  if (c.name === "resnet") return new models.ResNetForImageClassification(c.config as unknown as models.ResNetConfig);
  if (c.name === "hybrid") return new models.HybridViTForImageClassification(c.config as unknown as models.HybridViTConfig);
  return new models.ViTForImageClassification(c.config as unknown as models.ViTConfig);
}

function checkModel(c: ModelCase): void {
  const m = build(c);
  m.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, t(v)]))); // strict: names must match
  m.eval();
  const { logits } = m.forward(t(c.input));
  close(logits, c.logits, 1e-4, `${c.name} logits`);
  if (c.lastHiddenState && m instanceof models.ViTForImageClassification) {
    close(m.vit.forward(t(c.input)).lastHiddenState, c.lastHiddenState, 1e-4, `${c.name} last hidden state`);
  }
  logits.mul(t(c.gradOutput)).sum().backward();
  const named = Object.fromEntries(m.namedParameters());
  for (const [k, g] of Object.entries(c.paramGrads)) {
    assert.ok(named[k]?.grad, `${c.name}: no gradient for ${k}`);
    close(named[k].grad!, g, 1e-3, `${c.name} d/d ${k}`);
  }
}

for (const backend of availableBackends()) {
  test(`ViT forward and gradients match Hugging Face's ViT in PyTorch (${backend})`, () => withBackend(backend, () => checkModel(fixture.vit)));
  test(`hybrid ViT (ResNet stem, 1x1 patches) matches PyTorch (${backend})`, () => withBackend(backend, () => checkModel(fixture.hybrid)));
  test(`ResNet baseline with GroupNorm matches PyTorch (${backend})`, () => withBackend(backend, () => checkModel(fixture.resnet)));
}

test("GroupNorm matches torch.nn.functional.group_norm, values and gradients", () => {
  const f = fixture.groupNorm;
  const gn = new nn.GroupNorm(f.numGroups, f.input.shape[1]);
  gn.loadStateDict({ weight: t(f.weight), bias: t(f.bias) });
  const x = t(f.input, true);
  const y = gn.forward(x);
  close(y, f.output, 1e-5, "output");
  y.mul(t(f.gradOutput)).sum().backward();
  close(x.grad!, f.inputGrad, 1e-4, "input grad");
  close(gn.weight.grad!, f.weightGrad, 1e-4, "weight grad");
  close(gn.bias.grad!, f.biasGrad, 1e-4, "bias grad");
});

test("position embeddings resize like F.interpolate(bilinear), [CLS] kept", () => {
  for (const c of fixture.resize.cases) {
    close(position.resizePositionEmbeddings(t(fixture.resize.input), c.newH, c.newW), c.output, 1e-6, `${c.newH}x${c.newW}`);
  }
});
