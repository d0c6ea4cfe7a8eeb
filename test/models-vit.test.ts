// The ViT model: patch embedding as the paper's convolution, parameter counts of the presets,
// the hybrid and the CNN baseline, resizing to another resolution, and the errors for bad images.

import assert from "node:assert/strict";
import { test } from "node:test";
import { conv2d, explain, manualSeed, models, position, randn, Tensor } from "../src/index.js";

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

test("ViT presets have the paper's parameter counts (Table 1), counted without allocating", () => {
  // The count from the config equals the allocated model's own count (small presets) ...
  for (const name of ["vit-mnist", "vit-tiny-patch32-224"]) {
    const c = models.vitPresets[name];
    assert.equal(models.vitParameterCount(c), new models.ViTForImageClassification(c).numParameters(), name);
  }
  // ... and the large ones match Hugging Face's counts (B/16 with its 1000-class head: 86,567,656;
  // google/vit-large-patch16-224: 304,326,632) and the paper's Table 1 (86M, 307M, 632M) within
  // 1.5% (the paper rounds, and its 307M for L is 1.2% above the architecture's 303.3M).
  assert.equal(models.vitParameterCount(models.vitPreset("ViT-B/16")), 86_567_656);
  assert.equal(models.vitParameterCount(models.vitPreset("vit-large-patch16-224")), 304_326_632);
  const paper: [string, number][] = [["ViT-B/16", 86e6], ["ViT-L/16", 307e6], ["ViT-H/14", 632e6], ["ViT-B/32", 88e6], ["ViT-L/32", 306e6]];
  for (const [name, n] of paper) {
    const ours = models.vitParameterCount(models.vitPreset(name), { withHead: false });
    assert.ok(Math.abs(ours - n) / n < 0.015, `${name}: ${ours} vs the paper's ${n}`);
  }
  assert.throws(() => models.vitPreset("vit-gigantic/16"), /unknown preset "vit-gigantic\/16" \(known: .*vit-huge-patch14-224/);
});

test("hybrid and CNN baseline: HF-style names, shapes", () => {
  manualSeed(0);
  const h = new models.HybridViTForImageClassification(models.hybridVitPresets["hybrid-vit-mnist"]);
  const names = h.namedParameters().map(([n]) => n);
  assert.ok(names.includes("vit.embeddings.patch_embeddings.backbone.embedder.embedder.convolution.weight"));
  assert.ok(names.includes("vit.embeddings.patch_embeddings.projection.weight"));
  assert.ok(names.includes("vit.encoder.layer.3.attention.attention.query.weight"));
  assert.deepEqual(h.vit.embeddings.position_embeddings.shape, [1, 50, 64]); // 7x7 feature map + [CLS]
  assert.deepEqual(h.forward(randn([2, 1, 28, 28])).logits.shape, [2, 10]);
  const r = new models.ResNetForImageClassification(models.resnetPresets["resnet-mnist"]);
  assert.deepEqual(r.forward(randn([2, 1, 28, 28])).logits.shape, [2, 10]);
  assert.throws(() => r.forward(randn([2, 3, 28, 28])), /ResNet: expected pixel values \[B, 1, H, W\], got \[2, 3, 28, 28\]/);
  assert.throws(() => h.forward(randn([2, 1, 32, 32])), /HybridViT: expected pixel values \[B, 1, 28, 28\], got \[2, 1, 32, 32\]/);
});

test("setImageSize: 2-D interpolated position embeddings for another resolution (section 3.2)", () => {
  manualSeed(1);
  const c = { ...models.vitPresets["vit-mnist"] };
  const vit = new models.ViTForImageClassification(c);
  const before = vit.vit.embeddings.position_embeddings;
  vit.setImageSize(40); // 7x7 -> 10x10 patches
  const after = vit.vit.embeddings.position_embeddings;
  assert.deepEqual(after.shape, [1, 101, 64]);
  assert.ok(after.requiresGrad, "the resized table is still a trained parameter");
  assert.deepEqual(Array.from(after.data.subarray(0, 64)), Array.from(before.data.subarray(0, 64)), "[CLS] position kept");
  // the table equals resizePositionEmbeddings of the old one (checked against F.interpolate in models-vit-torch)
  assert.deepEqual(Array.from(after.data), Array.from(position.resizePositionEmbeddings(before, 10, 10).data));
  assert.equal(vit.namedParameters().find(([n]) => n === "vit.embeddings.position_embeddings")![1], after);
  assert.deepEqual(vit.forward(randn([2, 1, 40, 40])).logits.shape, [2, 10]);
  assert.equal(vit.config.imageSize, 40);
  assert.equal(c.imageSize, 28, "the caller's config object is not changed");
  assert.throws(() => vit.setImageSize(42), /image size 42 is not divisible by patch size 4/);
});

test("ViT refuses images of the wrong size or channel count, naming both", () => {
  const vit = new models.ViTForImageClassification(models.vitPresets["vit-mnist"]);
  assert.throws(() => vit.forward(randn([2, 3, 28, 28])), /expected pixel values \[B, 1, 28, 28\], got \[2, 3, 28, 28\]/);
  assert.throws(() => vit.forward(randn([2, 1, 32, 32])), /expected pixel values \[B, 1, 28, 28\], got \[2, 1, 32, 32\]/);
  assert.throws(() => vit.forward(randn([2, 1, 30, 30])), /image size 30x30 is not divisible by patch size 4/);
  assert.throws(() => new models.ViTForImageClassification({ ...models.vitPresets["vit-mnist"], imageSize: 30 }), /image size 30 is not divisible by patch size 4/);
  const { logits } = vit.forward(randn([2, 1, 28, 28]));
  assert.deepEqual(logits.shape, [2, 10]);
});

test("the classifier runs its last layer for the [CLS] row alone: same logits and gradients as the full last hidden state", () => {
  manualSeed(3);
  const vit = new models.ViTForImageClassification({ ...models.vitPresets["vit-mnist"], numHiddenLayers: 2 });
  const x = randn([3, 1, 28, 28]);
  const g = randn([3, 10]);
  const gradsOf = (logits: Tensor): Map<string, Float32Array> => {
    vit.zeroGrad();
    logits.mul(g).sum().backward();
    return new Map(vit.namedParameters().map(([n, p]) => [n, Float32Array.from(p.grad!.data)]));
  };
  // what the last layer's MLP sees: one row per image
  const last = vit.vit.encoder.layer.get(1);
  const seen: number[][] = [];
  const mlp = last.intermediate.forward.bind(last.intermediate);
  last.intermediate.forward = (h: Tensor) => { seen.push(h.shape); return mlp(h); };
  const logits = vit.forward(x).logits;
  assert.deepEqual(seen, [[3, 1, 64]]);
  // reference: every row through every layer (eq. 4 on row 0 of the last hidden state)
  const h = vit.vit.forward(x).lastHiddenState; // [3, 50, 64]
  assert.deepEqual(seen[1], [3, 50, 64]);
  const full = vit.classifier.forward(h.narrow(1, 0, 1).reshape([3, 64]));
  for (let i = 0; i < full.numel; i++) assert.ok(Math.abs(logits.data[i] - full.data[i]) < 1e-5, `logit ${i}`);
  const ours = gradsOf(logits), ref = gradsOf(full);
  for (const [name, r] of ref) {
    const o = ours.get(name)!;
    let worst = 0;
    for (let i = 0; i < r.length; i++) worst = Math.max(worst, Math.abs(o[i] - r[i]) / Math.max(1e-3, Math.abs(r[i])));
    assert.ok(worst < 1e-3, `${name}: relative gradient error ${worst}`);
  }
  // while attention is recorded every layer runs in full, so every record is [B, H, T, T]
  const rec = explain.recordAttention(vit, () => vit.forward(x));
  assert.deepEqual(rec.attentions.map((r) => r.weights.shape), [[3, 4, 50, 50], [3, 4, 50, 50]]);
  for (let i = 0; i < full.numel; i++) assert.ok(Math.abs(rec.output.logits.data[i] - full.data[i]) < 1e-5, `recorded logit ${i}`);
});
