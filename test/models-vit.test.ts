// The ViT model: patch embedding as the paper's convolution, parameter counts of the presets,
// shapes and the errors for bad images.

import assert from "node:assert/strict";
import { test } from "node:test";
import { conv2d, manualSeed, models, randn } from "../src/index.js";

test("patch embedding equals the stride-P convolution, flattened and transposed", () => {
  manualSeed(0);
  const vit = new models.ViTForImageClassification(models.vitPresets["vit-mnist"]);
  const x = randn([3, 1, 28, 28]);
  const pe = vit.vit.embeddings.patch_embeddings;
  const ours = pe.forward(x);
  const conv = conv2d(x, pe.projection.weight, pe.projection.bias, { stride: 4 }).flatten(2).transpose(1, 2);
  assert.deepEqual(ours.shape, [3, 49, 64]);
  for (let i = 0; i < ours.numel; i++) assert.ok(Math.abs(ours.data[i] - conv.data[i]) < 1e-5);
});

test("ViT presets have the paper's parameter counts (Table 1)", () => {
  // ViT-B/16 has 86.6M parameters with a 1000-class head (Hugging Face: 86,567,656)
  const b16 = new models.ViTForImageClassification(models.vitPresets["vit-base-patch16-224"]);
  assert.equal(b16.numParameters(), 86_567_656);
  const ti = new models.ViTForImageClassification(models.vitPresets["vit-tiny-patch16-224"]);
  assert.equal(ti.numParameters(), 5_717_416);
});

test("ViT refuses images of the wrong size or channel count, naming both", () => {
  const vit = new models.ViTForImageClassification(models.vitPresets["vit-mnist"]);
  assert.throws(() => vit.forward(randn([2, 3, 28, 28])), /expected pixel values \[B, 1, 28, 28\], got \[2, 3, 28, 28\]/);
  assert.throws(() => vit.forward(randn([2, 1, 32, 32])), /expected pixel values \[B, 1, 28, 28\], got \[2, 1, 32, 32\]/);
  const { logits } = vit.forward(randn([2, 1, 28, 28]));
  assert.deepEqual(logits.shape, [2, 10]);
});
