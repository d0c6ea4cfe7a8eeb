// The video models against PyTorch 1.13 (fixtures from scripts/fixtures/video.py): ViViT models
// 1-4 (tubelet embedding, and uniform frame sampling with one-frame tubelets), TimeSformer's
// divided, joint and space-only attention, and the Keras-example CNN + Transformer. The torch
// side is written independently (explicit attention, TimeSformer in Hugging Face's token order);
// parameters load by name, so the names are checked too. Logits, the clip's gradient and every
// parameter's gradient must match, on every backend.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { availableBackends, models, nn, tensor, Tensor, withBackend } from "../src/index.js";

interface FT { shape: number[]; data: number[] }
interface Case {
  name: string; family: "vivit" | "timesformer" | "cnn-transformer"; config: Record<string, unknown>;
  params: Record<string, FT>; input: FT; logits: FT; gradOutput: FT; inputGrad: FT; paramGrads: Record<string, FT>;
}

const fixture = JSON.parse(readFileSync(new URL("../../test/fixtures/video.json", import.meta.url), "utf8")) as { cases: Case[] };
const t = (f: FT, requiresGrad = false): Tensor => tensor(Float32Array.from(f.data), f.shape, { requiresGrad });

function assertClose(actual: Tensor | null, expected: FT, what: string, tol = 2e-4): void {
  assert.ok(actual, `${what}: missing`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  let scale = 0;
  for (const e of expected.data) scale = Math.max(scale, Math.abs(e));
  for (let i = 0; i < expected.data.length; i++) {
    const a: number = actual.data[i], e = expected.data[i];
    if (!(Math.abs(a - e) <= tol * (1 + scale))) assert.fail(`${what}: index ${i}: got ${a}, expected ${e} (max |expected| ${scale})`);
  }
}

function build(c: Case): nn.Module & { forward(x: Tensor): { logits: Tensor } } {
  if (c.family === "vivit") return new models.ViViTForVideoClassification(c.config as unknown as models.ViViTConfig);
  if (c.family === "timesformer") return new models.TimesformerForVideoClassification(c.config as unknown as models.TimesformerConfig);
  return new models.VideoCnnTransformer(c.config as unknown as models.VideoCnnTransformerConfig);
}

for (const backend of availableBackends()) for (const c of fixture.cases) {
  test(`${c.name} matches PyTorch: logits and gradients (${backend})`, () => withBackend(backend, () => {
    const m = build(c);
    m.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, t(v)])));
    const x = t(c.input, true);
    const { logits } = m.forward(x);
    assertClose(logits, c.logits, `${c.name} logits`);
    logits.mul(t(c.gradOutput)).sum().backward();
    assertClose(x.grad, c.inputGrad, `${c.name} clip gradient`);
    const params = Object.fromEntries(m.namedParameters());
    assert.deepEqual(Object.keys(params).sort(), Object.keys(c.paramGrads).sort(), `${c.name}: parameter names`);
    for (const [name, g] of Object.entries(c.paramGrads)) assertClose(params[name].grad, g, `${c.name} grad of ${name}`);
  }));
}
