// Video models: the tubelet embedding as the paper's 3-D convolution (values and finite-
// difference gradients), shapes of every preset, errors for clips that do not fit, and starting
// from an image ViT (ViViT's central-frame and inflated tubelets, Model 2's and Model 3's
// per-frame start, TimeSformer's reuse of the spatial weights).

import assert from "node:assert/strict";
import { test } from "node:test";
import { conv3d, manualSeed, models, narrow, noGrad, randn, Tensor, add, cat, stack, unfold } from "../src/index.js";
import { assertClose, gradcheck } from "./helpers/gradcheck.js";

const vitConfig: models.ViTConfig = {
  imageSize: 8, patchSize: 4, numChannels: 2, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2,
  intermediateSize: 12, numLabels: 3, layerNormEps: 1e-6, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0, qkvBias: true,
};
const shared = { imageSize: 8, numChannels: 2, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 12, numLabels: 3, layerNormEps: 1e-6, hiddenDropoutProb: 0, qkvBias: true };
const vivitConfig = (model: models.ViViTVariant, numFrames: number, t: number): models.ViViTConfig =>
  ({ ...shared, model, numFrames, tubeletSize: [t, 4, 4], numTemporalLayers: model === 2 ? 1 : 0 });
const tsConfig = (attentionType: models.TimesformerAttentionType, numFrames: number): models.TimesformerConfig =>
  ({ ...shared, attentionType, numFrames, patchSize: 4 });

/** A trained-looking ViT: random weights (layer norms too), so that copies are really tested. */
function randomViT(): models.ViTForImageClassification {
  manualSeed(3);
  const vit = new models.ViTForImageClassification(vitConfig);
  for (const p of vit.parameters()) p.data.set(randn(p.shape).mul(0.3).data);
  return vit;
}

/** [B, T, C, H, W] with every frame equal to `frame` [B, C, H, W]. */
const staticClip = (frame: Tensor, T: number): Tensor => stack(Array.from({ length: T }, () => frame), 1);

test("tubelet embedding is the stride = kernel Conv3d over [B, C, T, H, W], tokens in (t, h, w) order", () => {
  manualSeed(0);
  const emb = new models.TubeletEmbeddings(3, 5, [2, 4, 2]);
  const clip = randn([2, 4, 3, 8, 6]); // [B, T, C, H, W]
  const ours = emb.forward(clip);
  const ref = conv3d(clip.permute([0, 2, 1, 3, 4]), emb.projection.weight, emb.projection.bias, { stride: [2, 4, 2] }) // [B, D, 2, 2, 3]
    .flatten(2).transpose(1, 2);
  assert.deepEqual(ours.shape, [2, 12, 5]);
  assertClose(ours.data, ref.data, 1e-5, 1e-5, "tubelets vs conv3d");
  // one channel takes the reshape path instead of the permute
  const gray = new models.TubeletEmbeddings(1, 4, [2, 2, 2]);
  const g = randn([1, 2, 1, 4, 4]);
  const gref = conv3d(g.reshape([1, 1, 2, 4, 4]), gray.projection.weight, gray.projection.bias, { stride: 2 }).flatten(2).transpose(1, 2);
  assertClose(gray.forward(g).data, gref.data, 1e-5, 1e-5, "one-channel tubelets");
});

test("tubelet embedding gradients match finite differences (clip, kernel, bias)", () => {
  manualSeed(1);
  const emb = new models.TubeletEmbeddings(2, 3, [2, 2, 2]);
  const run = (x: Tensor, w: Tensor, b: Tensor): Tensor => {
    emb.projection.weight.data.set(w.data);
    emb.projection.bias!.data.set(b.data);
    // route through the module but differentiate w.r.t. the given leaves
    const cols = unfold(x.permute([0, 2, 1, 3, 4]), [2, 2, 2], { stride: [2, 2, 2] });
    return add(cols.transpose(1, 2).matmul(w.reshape([3, 16]).transpose(0, 1)), b);
  };
  const x = randn([2, 4, 2, 4, 4]), w = randn([3, 2, 2, 2, 2]), b = randn([3]);
  // the helper path equals the module's forward, so checking its gradients checks the module's ops
  assertClose(run(x, w, b).data, emb.forward(x).data, 1e-5, 1e-5, "reference path");
  gradcheck((xx, ww, bb) => {
    emb.projection.weight.data.set(ww.data);
    emb.projection.bias!.data.set(bb.data);
    return emb.forward(xx);
  }, [x, w, b], { check: [true, false, false], label: "tubelets d/dclip", maxPerInput: 40 });
  gradcheck(run, [x, w, b], { label: "tubelets d/dkernel, d/dbias", maxPerInput: 40 });
  // and the module's own parameter gradients equal the reference path's
  const xx = x.clone(), ww = emb.projection.weight;
  ww.data.set(w.data);
  emb.projection.bias!.data.set(b.data);
  emb.zeroGrad();
  const gOut = randn([2, 8, 3]);
  emb.forward(xx).mul(gOut).sum().backward();
  const wl = w.clone().requiresGrad_(), bl = b.clone().requiresGrad_();
  run(x, wl, bl).mul(gOut).sum().backward();
  assertClose(ww.grad!.data, wl.grad!.data, 1e-4, 1e-4, "kernel grad");
  assertClose(emb.projection.bias!.grad!.data, bl.grad!.data, 1e-4, 1e-4, "bias grad");
});

test("every video preset for digits maps [B, T, 1, 32, 32] to [B, 40] logits", () => {
  manualSeed(0);
  const x = randn([2, 8, 1, 32, 32]);
  const x4 = randn([2, 4, 1, 32, 32]); // TimeSformer takes 4 sampled frames
  noGrad(() => {
    for (const [name, c] of Object.entries(models.vivitPresets).filter(([n]) => n.endsWith("digits"))) {
      assert.deepEqual(new models.ViViTForVideoClassification(c).forward(x).logits.shape, [2, 40], name);
    }
    for (const [name, c] of Object.entries(models.timesformerPresets).filter(([n]) => n.endsWith("digits"))) {
      assert.deepEqual(new models.TimesformerForVideoClassification(c).forward(x4).logits.shape, [2, 40], name);
    }
    const cnn = new models.VideoCnnTransformer(models.videoCnnTransformerPresets["cnn-transformer-digits"]);
    assert.deepEqual(cnn.forward(x).logits.shape, [2, 40]);
  });
  // Model 3 adds one temporal MSA + LN per layer to Model 1's parameters (section 3.3)
  const p = (m: models.ViViTVariant): number => new models.ViViTForVideoClassification({ ...models.vivitPresets["vivit-1-digits"], model: m }).numParameters();
  const D = 64;
  assert.equal(p(3) - p(1), 3 * (4 * (D * D + D) + 2 * D) - D - D /* no [CLS] token, no [CLS] position */);
  assert.equal(p(4) - p(1), -D - D);
});

test("clips that do not fit are refused with the sizes named", () => {
  assert.throws(() => new models.ViViTForVideoClassification(vivitConfig(1, 1, 2)), /a clip of 1 frames is shorter than the tubelet depth 2/);
  assert.throws(() => new models.ViViTForVideoClassification(vivitConfig(1, 6, 4)), /6 frames do not divide into tubelets of depth 4/);
  assert.throws(() => new models.ViViTForVideoClassification({ ...vivitConfig(1, 4, 2), imageSize: 10 }), /frame size 10x10 does not divide into 4x4 patches/);
  assert.throws(() => new models.ViViTForVideoClassification({ ...vivitConfig(4, 4, 2), numAttentionHeads: 1 }), /even number of heads/);
  assert.throws(() => new models.TimesformerForVideoClassification({ ...tsConfig("joint_space_time", 4), imageSize: 10 }), /frame size 10x10 does not divide into 4x4 patches/);
  const m = new models.ViViTForVideoClassification(vivitConfig(1, 4, 2));
  assert.throws(() => m.forward(randn([1, 1, 2, 8, 8])), /the clip has 1 frames, fewer than the tubelet depth 2/);
  assert.throws(() => m.forward(randn([1, 4, 2, 8, 12])), /expected a clip \[B, 4, 2, 8, 8\], got \[1, 4, 2, 8, 12\]/);
  assert.throws(() => m.forward(randn([1, 4, 2, 8])), /expected a clip \[B, T, C, H, W\], got \[1, 4, 2, 8\]/);
  const emb = new models.TubeletEmbeddings(1, 4, [2, 4, 4]);
  assert.throws(() => emb.forward(randn([1, 1, 1, 8, 8])), /the clip has 1 frames, fewer than the tubelet depth 2/);
  assert.throws(() => emb.forward(randn([1, 2, 1, 8, 6])), /a clip of 2 frames of 8x6 does not divide into 2x4x4 tubelets/);
  const ts = new models.TimesformerForVideoClassification(tsConfig("divided_space_time", 4));
  assert.throws(() => ts.forward(randn([1, 3, 2, 8, 8])), /TimeSformer: expected a clip \[B, 4, 2, 8, 8\], got \[1, 3, 2, 8, 8\]/);
});

test("ViViT Model 1 from a ViT with the central-frame tubelet is the ViT on each tubelet's central frame", () => {
  const vit = randomViT();
  const frames = randn([2, 2, 2, 8, 8]); // 2 frames, tubelet depth 2: one temporal index
  const m = models.vivitFromViT(vit.stateDict(), vivitConfig(1, 2, 2), { tubeletInit: "central-frame" });
  const central = narrow(frames, 1, 1, 1).reshape([2, 2, 8, 8]); // floor(2/2) = frame 1
  noGrad(() => assertClose(m.forward(frames).logits.data, vit.forward(central).logits.data, 1e-4, 1e-4, "central frame"));
  // a depth-3 kernel: only its middle slice is non-zero
  const m3 = models.vivitFromViT(vit.stateDict(), vivitConfig(1, 3, 3));
  const k = m3.vivit.embeddings.patch_embeddings.projection.weight; // [D, C, 3, 4, 4]
  const [D, C] = k.shape;
  for (const tt of [0, 2]) assert.ok(narrow(k, 2, tt, 1).abs().sum().item() === 0, `slice ${tt} is zero`);
  assertClose(narrow(k, 2, 1, 1).reshape([D, C, 4, 4]).data, vit.vit.embeddings.patch_embeddings.projection.weight.data, 0, 0, "middle slice");
});

test("ViViT from a ViT with inflated tubelets gives the ViT on a static clip; positions repeat over time", () => {
  const vit = randomViT();
  const frame = randn([2, 2, 8, 8]);
  const m = models.vivitFromViT(vit.stateDict(), vivitConfig(1, 3, 3), { tubeletInit: "inflate" });
  noGrad(() => assertClose(m.forward(staticClip(frame, 3)).logits.data, vit.forward(frame).logits.data, 1e-4, 1e-4, "static clip"));
  // Model 1 with two temporal indices: [cls, p1..p4, p1..p4]
  const m2 = models.vivitFromViT(vit.stateDict(), vivitConfig(1, 4, 2));
  const pos = vit.vit.embeddings.position_embeddings;
  const want = cat([pos, narrow(pos, 1, 1, 4)], 1);
  assertClose(m2.vivit.embeddings.position_embeddings.data, want.data, 0, 0, "repeated positions");
});

test("ViViT Model 2 from a ViT: its spatial encoder gives each frame's ViT [CLS] state", () => {
  const vit = randomViT();
  const clip = randn([2, 3, 2, 8, 8]);
  const m = models.vivitFromViT(vit.stateDict(), vivitConfig(2, 3, 1)); // uniform frame sampling
  noGrad(() => {
    const v = m.vivit;
    const spatial = v.layernorm.forward(v.encoder.forward(v.embeddings.forward(clip))); // [B*T, 1+ns, D]
    for (let f = 0; f < 3; f++) {
      const want = narrow(vit.vit.forward(narrow(clip, 1, f, 1).reshape([2, 2, 8, 8])).lastHiddenState, 1, 0, 1); // [B, 1, D]
      const got = narrow(spatial.reshape([2, 3, 5, 8]), 1, f, 1).reshape([2, 5, 8]);
      assertClose(narrow(got, 1, 0, 1).data, want.data, 1e-4, 1e-4, `frame ${f} [CLS]`);
    }
  });
});

test("ViViT Model 3 from a ViT: temporal attention's output starts at zero, so each frame goes through the ViT's layers alone", () => {
  const vit = randomViT();
  const clip = randn([2, 3, 2, 8, 8]);
  const m = models.vivitFromViT(vit.stateDict(), vivitConfig(3, 3, 1));
  for (const l of m.vivit.encoder.layer) {
    const layer = l as models.ViViTFactorisedSelfAttentionLayer;
    // the output projection is zero; query, key and value are not (all-zero would never learn)
    for (const p of layer.temporal_attention.output.parameters()) assert.equal(p.abs().sum().item(), 0);
    assert.ok(layer.temporal_attention.attention.query.weight.abs().sum().item() > 0);
  }
  noGrad(() => {
    const out = m.vivit.forward(clip).lastHiddenState.reshape([2, 3, 4, 8]);
    const ve = vit.vit.embeddings;
    for (let f = 0; f < 3; f++) {
      const frame = narrow(clip, 1, f, 1).reshape([2, 2, 8, 8]);
      // ViT's own layers on the frame's patch tokens (+ their positions), without a [CLS] token
      const tokens = add(ve.patch_embeddings.forward(frame), narrow(ve.position_embeddings, 1, 1, 4));
      const want = vit.vit.layernorm.forward(vit.vit.encoder.forward(tokens));
      assertClose(narrow(out, 1, f, 1).data, want.data, 1e-4, 1e-4, `frame ${f}`);
    }
  });
  // Model 4 takes the same weights: its attention is ViT's projections, heads split over space and time
  const m4 = models.vivitFromViT(vit.stateDict(), vivitConfig(4, 4, 2));
  const sd = m4.stateDict(), vsd = vit.stateDict();
  for (const n of ["attention.attention.query.weight", "attention.output.dense.bias", "intermediate.dense.weight", "layernorm_after.bias"]) {
    assertClose(sd[`vivit.encoder.layer.1.${n}`].data, vsd[`vit.encoder.layer.1.${n}`].data, 0, 0, n);
  }
});

test("TimeSformer from a ViT (divided, space-only) is the ViT on a static clip; joint is the ViT on one frame", () => {
  const vit = randomViT();
  const frame = randn([2, 2, 8, 8]);
  const want = noGrad(() => vit.forward(frame).logits);
  for (const a of ["divided_space_time", "space_only"] as const) {
    const m = models.timesformerFromViT(vit.stateDict(), tsConfig(a, 3));
    noGrad(() => assertClose(m.forward(staticClip(frame, 3)).logits.data, want.data, 1e-4, 1e-4, a));
  }
  const joint = models.timesformerFromViT(vit.stateDict(), tsConfig("joint_space_time", 1));
  noGrad(() => assertClose(joint.forward(staticClip(frame, 1)).logits.data, want.data, 1e-4, 1e-4, "joint, one frame"));
  // divided: the temporal attention is a copy of the spatial one, its output projection zero
  const d = models.timesformerFromViT(vit.stateDict(), tsConfig("divided_space_time", 3));
  const l0 = [...d.timesformer.encoder.layer][0];
  assertClose(l0.temporal_attention!.attention.qkv.weight.data, l0.attention.attention.qkv.weight.data, 0, 0, "temporal qkv");
  assert.equal(l0.temporal_dense!.weight.abs().sum().item(), 0);
  // without time embeddings every block is equivariant to the frame order; once they and
  // temporal_dense are trained (here: random), the order of the frames matters
  const clip = randn([1, 3, 2, 8, 8]);
  for (const p of [...l0.temporal_dense!.parameters(), d.timesformer.embeddings.time_embeddings!]) p.data.set(randn(p.shape).mul(0.3).data);
  const rev = cat([narrow(clip, 1, 2, 1), narrow(clip, 1, 1, 1), narrow(clip, 1, 0, 1)], 1);
  const a = noGrad(() => d.forward(clip).logits), b = noGrad(() => d.forward(rev).logits);
  assert.ok(a.sub(b).abs().max().item() > 1e-3, "divided attention sees the frame order");
});

test("an image checkpoint that does not fit is refused, naming the tensor and both shapes", () => {
  const vit = randomViT();
  assert.throws(() => models.vivitFromViT(vit.stateDict(), { ...vivitConfig(1, 2, 2), tubeletSize: [2, 2, 2] }),
    /embeddings.patch_embeddings.projection.weight is \[8, 2, 4, 4\], the tubelets need \[8, 2, 2, 2\]/);
  assert.throws(() => models.vivitFromViT(vit.stateDict(), { ...vivitConfig(1, 2, 2), numHiddenLayers: 3 }), /the image checkpoint has 2 layers, the video model needs 3/);
  assert.throws(() => models.timesformerFromViT(vit.stateDict(), { ...tsConfig("space_only", 2), imageSize: 12 }),
    /embeddings.position_embeddings is \[1, 5, 8\] in the image checkpoint, the video model needs \[1, 10, 8\]/);
});
