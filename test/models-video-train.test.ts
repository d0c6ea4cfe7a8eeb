// Video training end to end, small: a tiny ViViT learns the direction of moving digits (needs
// time: no single frame shows it), FLOPs counted at the kernels match a hand count, and the CLI
// trains, saves, and predicts on real video files written by ffmpeg.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { data, io, manualSeed, models, noGrad, randn, tasks, Tensor } from "../src/index.js";
import { main } from "../src/cli/main.js";
import { predictVideos } from "../src/cli/predict-video.js";

const dir = mkdtempSync(join(tmpdir(), "tsformer-video-train-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a tiny ViViT (model 3) learns the direction of motion (4 classes) well above chance", () => {
  // 14px digits moving 14px, so that a few steps suffice
  const clips = { digitSize: 14, frameSize: 32, minSpeed: 0.5, maxSpeed: 3.5, jitter: Infinity };
  const r = tasks.trainVideoClassifier({
    model: "vivit-3", label: "direction", steps: 250, batchSize: 16, lr: 3e-3, hiddenSize: 32, numHiddenLayers: 1,
    testClips: 200, trainDigits: 2000, testDigits: 200, seed: 1, clips,
  });
  assert.ok(r.testAccuracy >= 0.8, `direction accuracy ${r.testAccuracy}`);
  assert.equal(r.parameters, r.model.numParameters());
});

test("selectFrames keeps the sampled frames of every clip, in order", () => {
  const v = new Tensor(Float32Array.from({ length: 2 * 8 * 2 }, (_, i) => i), [2, 8, 1, 1, 2]); // value = flat index
  const s = tasks.selectFrames(v, data.sampleFrameIndices(8, 4)); // frames 1, 3, 5, 7
  assert.deepEqual(s.shape, [2, 4, 1, 1, 2]);
  assert.deepEqual(Array.from(s.data), [2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31]);
});

test("forward FLOPs are counted at the kernels: a ViViT block by hand", () => {
  // Model 1, one layer, D = 8, I = 12, tubelets 2x4x4 of a 4-frame 8x8 clip: N = 2*4 = 8 tokens + [CLS]
  const c: models.ViViTConfig = {
    model: 1, numFrames: 4, imageSize: 8, numChannels: 1, tubeletSize: [2, 4, 4], hiddenSize: 8, numHiddenLayers: 1,
    numTemporalLayers: 0, numAttentionHeads: 2, intermediateSize: 12, numLabels: 3, layerNormEps: 1e-6, hiddenDropoutProb: 0, qkvBias: true,
  };
  const m = new models.ViViTForVideoClassification(c);
  const flops = tasks.countFlops(() => m.forward(randn([1, 4, 1, 8, 8])));
  const N = 8, T = N + 1, D = 8, I = 12, K = 2 * 4 * 4;
  const embed = 2 * N * K * D;
  const attention = 4 * 2 * T * D * D /* q, k, v, out */ + 2 * 2 * T * T * (D / 2 + D / 2) /* two heads */;
  const mlp = 2 * 2 * T * D * I;
  const head = 2 * D * 3;
  assert.equal(flops, embed + attention + mlp + head);
  // space-time attention costs more than divided attention on the same tokens
  const big = { numFrames: 8, imageSize: 32, numChannels: 1, patchSize: 4, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, numLabels: 2, layerNormEps: 1e-6, hiddenDropoutProb: 0, qkvBias: true };
  const x = randn([1, 8, 1, 32, 32]);
  const joint = tasks.countFlops(() => new models.TimesformerForVideoClassification({ ...big, attentionType: "joint_space_time" }).forward(x));
  const divided = tasks.countFlops(() => new models.TimesformerForVideoClassification({ ...big, attentionType: "divided_space_time" }).forward(x));
  assert.ok(joint > divided, `joint ${joint} > divided ${divided}`);
});

test("tsformer train video saves a checkpoint that predict reads, on MP4, WebM, AVI and GIF files", async () => {
  const out = join(dir, "ckpt");
  const logs: string[] = [];
  const log = console.log;
  console.log = (s: string) => logs.push(String(s));
  let code: number;
  try {
    code = await main(["train", "video", "--model", "timesformer-divided", "--label", "direction", "--steps", "3", "--batch-size", "4",
      "--hidden", "16", "--layers", "1", "--test-clips", "20", "--out", out, "--json"]);
  } finally {
    console.log = log;
  }
  assert.equal(code, 0);
  const summary = JSON.parse(logs.at(-1)!) as { model: string; test_accuracy: number; parameters: number; forward_mflops_per_clip: number };
  assert.equal(summary.model, "timesformer-divided");
  assert.ok(summary.parameters > 0 && summary.forward_mflops_per_clip > 0);
  // the checkpoint reproduces the trained model's outputs
  const { model, meta, spec } = tasks.loadVideoCheckpoint(out);
  const need = tasks.videoInputNeeds(spec);
  assert.equal(need.numFrames, 4); // TimeSformer samples 4 of a clip's frames
  assert.deepEqual(meta.classNames, ["moving right", "moving left", "moving down", "moving up"]);
  // a moving-digits clip written as video files: predictions equal the model on the decoded clip
  const ds = new data.MovingDigits("test", { limitDigits: 5 });
  const clip = ds.batch([0], "direction").videos; // [1, 8, 1, 32, 32]
  const files = ["mp4", "webm", "avi", "gif"].map((ext) => {
    const f = join(dir, `clip.${ext}`);
    data.encodeVideo(f, new Tensor(clip.data, [8, 1, 32, 32]), 8);
    return f;
  });
  const preds = predictVideos(out, files, 4);
  for (const p of preds) {
    assert.equal(p.top.length, 4);
    const decoded = data.loadVideoClip(p.file, { numFrames: need.numFrames, imageSize: 32, numChannels: 1 });
    const logits = noGrad(() => model.forward(decoded).logits);
    let best = 0;
    for (let k = 1; k < 4; k++) if (logits.data[k] > logits.data[best]) best = k;
    assert.equal(p.top[0].label, best, p.file);
    assert.ok(Math.abs(p.top.reduce((s, t) => s + t.probability, 0) - 1) < 1e-5);
  }
  // bad input: a missing checkpoint and an undecodable clip are named
  assert.throws(() => predictVideos(join(dir, "nope"), files), /no checkpoint directory .*nope/);
  assert.throws(() => predictVideos(out, [join(dir, "missing.mp4")]), /no such file .*missing\.mp4/);
  manualSeed(0);
});

test("train video --from-vit starts ViViT from an image ViT checkpoint (central-frame tubelets)", async () => {
  manualSeed(5);
  const vitCfg: models.ViTConfig = {
    imageSize: 32, patchSize: 8, numChannels: 1, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 4, intermediateSize: 128,
    numLabels: 10, layerNormEps: 1e-6, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0, qkvBias: true,
  };
  const vit = new models.ViTForImageClassification(vitCfg);
  const vitDir = join(dir, "vit"), out = join(dir, "from-vit");
  io.saveCheckpoint(vitDir, { config: vitCfg, stateDict: vit.stateDict() });
  const log = console.log;
  console.log = () => {};
  try {
    assert.equal(await main(["train", "video", "--model", "vivit-1", "--steps", "1", "--batch-size", "2", "--lr", "1e-12", "--hidden", "16",
      "--layers", "1", "--test-clips", "4", "--from-vit", vitDir, "--out", out, "--json"]), 0);
  } finally {
    console.log = log;
  }
  const { model } = tasks.loadVideoCheckpoint(out);
  const k = model.stateDict()["vivit.embeddings.patch_embeddings.projection.weight"]; // [16, 1, 2, 8, 8]
  const patch = vit.vit.embeddings.patch_embeddings.projection.weight.data; // [16, 1, 8, 8]
  for (let d = 0; d < 16; d++) for (let j = 0; j < 64; j++) {
    assert.ok(Math.abs(k.data[(d * 2 + 1) * 64 + j] - patch[d * 64 + j]) < 1e-6, "central frame = the ViT's patch kernel");
    assert.ok(Math.abs(k.data[d * 2 * 64 + j]) < 1e-6, "the other frame starts at zero");
  }
});
