// Recorded attention, its gradient, gradient-weighted attention (Chefer et al. 2021) and
// rollout (Abnar & Zuidema 2020) against PyTorch 1.13 on a tiny ViT
// (fixture from scripts/fixtures/explain.py).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Tensor, availableBackends, models, withBackend } from "../src/index.js";
import { attentionRollout, gradientAttention, recordAttention } from "../src/explain/index.js";

interface T { shape: number[]; data: number[] }
const fx = JSON.parse(readFileSync(new URL("../../test/fixtures/explain.json", import.meta.url), "utf8")) as {
  config: models.ViTConfig; stateDict: Record<string, T>; input: T; logits: T; target: number[];
  attentions: T[]; grads: T[]; maps: T[]; relevance: T; rollout: Record<string, T>;
};
const toTensor = (t: T) => new Tensor(Float32Array.from(t.data), t.shape);

function close(actual: Tensor, expected: T, tol: number, what: string) {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) {
    worst = Math.max(worst, Math.abs(actual.data[i] - expected.data[i]) / (1 + Math.abs(expected.data[i])));
  }
  assert.ok(worst <= tol, `${what}: worst relative error ${worst.toExponential(2)} > ${tol}`);
}

function model() {
  const vit = new models.ViTForImageClassification(fx.config);
  const sd: Record<string, Tensor> = {};
  for (const [n, t] of Object.entries(fx.stateDict)) sd[n] = toTensor(t);
  vit.loadStateDict(sd);
  vit.eval();
  return vit;
}

for (const backend of availableBackends()) {
  test(`recorded attention and rollout match PyTorch (${backend})`, () => withBackend(backend, () => {
    const vit = model();
    const { output, attentions } = recordAttention(vit, () => vit.forward(toTensor(fx.input)));
    close(output.logits, fx.logits, 1e-4, "logits");
    assert.equal(attentions.length, fx.attentions.length);
    attentions.forEach((a, l) => close(a.weights, fx.attentions[l], 1e-5, `attention ${l}`));
    close(attentionRollout(attentions), fx.rollout.mean, 1e-5, "rollout mean");
    close(attentionRollout(attentions, { headFusion: "max" }), fx.rollout.max, 1e-5, "rollout max");
    close(attentionRollout(attentions, { headFusion: "min" }), fx.rollout.min, 1e-5, "rollout min");
    close(attentionRollout(attentions, { discardRatio: 0.25 }), fx.rollout.mean_discard25, 1e-5, "rollout discard");
  }));

  test(`gradient-weighted attention matches PyTorch (${backend})`, () => withBackend(backend, () => {
    const vit = model();
    const g = gradientAttention(vit, () => vit.forward(toTensor(fx.input)));
    assert.deepEqual(g.target, fx.target);
    g.attentions.forEach((a, l) => close(a.weights.grad!, fx.grads[l], 1e-4, `dy/dA ${l}`));
    g.maps.forEach((m, l) => close(m, fx.maps[l], 1e-4, `map ${l}`));
    close(g.relevance!, fx.relevance, 1e-4, "relevance");
    // parameter gradients are left as they were (none)
    assert.ok(vit.parameters().every((p) => p.grad === null));
    assert.throws(() => gradientAttention(vit, () => vit.forward(toTensor(fx.input)), { target: 7 }), /target class 7 for row 0 is not in \[0, 3\)/);
  }));
}
