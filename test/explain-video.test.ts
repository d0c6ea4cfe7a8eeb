// Attention over video: the per-frame maps (hand-made cases), then `tsformer attention` and the
// explorer's HTTP API on tiny ViViT / TimeSformer checkpoints saved from a fixed-seed random
// init (their attention is whatever it is; the tests check that the pictures show exactly what
// was recorded: frame count, sizes, and the peak frame and patch), on clips that the packaged
// ffmpeg writes.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { manualSeed } from "../src/index.js";
import { main } from "../src/cli/main.js";
import { startServer } from "../src/cli/serve.js";
import { explainVideoFile, loadVideoExplainable } from "../src/cli/explain-video.js";
import { loadExplainable } from "../src/cli/explain-model.js";
import { encodeVideo, loadVideoClip } from "../src/data/video.js";
import { classifyVideoAttention, gradientAttention, recordAttention, tokenMapToFrames, videoTokenMap } from "../src/explain/index.js";
import { buildVideoModel, saveVideoCheckpoint, videoClassNames, videoModelSpec, type VideoModelName } from "../src/tasks/video-classification.js";
import { noGrad, Tensor } from "../src/tensor/tensor.js";

const root = mkdtempSync(join(tmpdir(), "tsformer-explain-video-"));
const T = 4, S = 16;
const dirs: Record<string, string> = {};

/** A bright 4x4 square moving right over a dark background: [T, 1, S, S]. */
function movingSquare(): Tensor {
  const d = new Float32Array(T * S * S).fill(0.1);
  for (let t = 0; t < T; t++) for (let y = 6; y < 10; y++) for (let x = 2 + 3 * t; x < 6 + 3 * t; x++) d[t * S * S + y * S + x] = 0.9;
  return new Tensor(d, [T, 1, S, S]);
}

before(() => {
  const models: [VideoModelName, number][] = [["vivit-1", 2], ["vivit-3", 1], ["timesformer-divided", 1]];
  for (const [name, depth] of models) {
    manualSeed(5);
    const spec = videoModelSpec(name, { numLabels: 4, numFrames: T, imageSize: S, numChannels: 1, hiddenSize: 16, numHiddenLayers: 2, patchSize: 4, tubeletDepth: depth });
    dirs[name] = join(root, name);
    saveVideoCheckpoint(dirs[name], buildVideoModel(spec), spec, { name, label: "direction", classNames: videoClassNames("direction") });
  }
  for (const ext of ["mp4", "gif"]) encodeVideo(join(root, `clip.${ext}`), movingSquare(), 4);
  writeFileSync(join(root, "broken.mp4"), Buffer.from("this is not a video at all"));
});
after(() => rmSync(root, { recursive: true, force: true }));

test("videoTokenMap reads the [CLS] row (joint and per frame) or the query mean, and tubelets cover their frames", () => {
  const layout = { nt: 2, h: 1, w: 2 };
  // joint with [CLS]: [1, 2 heads, 5, 5]; [CLS] rows differ per head, the map is their mean
  const joint = new Float32Array(2 * 25);
  joint.set([0, 0.1, 0.2, 0.3, 0.4], 0);
  joint.set([0, 0.3, 0.2, 0.1, 0.4], 25);
  assert.deepEqual(classifyVideoAttention({ shape: [1, 2, 5, 5] }, layout), { kind: "joint", prefix: 1 });
  const m = videoTokenMap({ data: joint, shape: [1, 2, 5, 5] }, layout);
  assert.deepEqual(m.shape, [2, 1, 2]);
  assert.deepEqual(Array.from(m.data).map((v) => +v.toFixed(6)), [0.2, 0.2, 0.2, 0.4]);
  assert.deepEqual(Array.from(videoTokenMap({ data: joint, shape: [1, 2, 5, 5] }, layout, { head: 1 }).data).map((v) => +v.toFixed(6)), [0.3, 0.2, 0.1, 0.4]);
  // per frame, no [CLS]: [nt=2, 1 head, 2, 2]; the map is the mean over the two queries
  const spatial = new Float32Array([0.5, 0.5, 1, 0, /* frame 1 */ 0, 1, 0.25, 0.75]);
  assert.deepEqual(classifyVideoAttention({ shape: [2, 1, 2, 2] }, layout), { kind: "spatial", prefix: 0 });
  assert.deepEqual(Array.from(videoTokenMap({ data: spatial, shape: [2, 1, 2, 2] }, layout).data), [0.75, 0.25, 0.125, 0.875]);
  // time only: no map, said so
  assert.deepEqual(classifyVideoAttention({ shape: [2, 1, 2, 2] }, { nt: 2, h: 3, w: 3 }).kind, "temporal");
  assert.throws(() => videoTokenMap({ data: spatial, shape: [2, 1, 2, 2] }, { nt: 2, h: 3, w: 3 }), /over time steps only/);
  assert.throws(() => classifyVideoAttention({ shape: [1, 1, 7, 7] }, layout), /fits neither 2x1x2 space-time tokens/);
  // tubelets of depth 2: frames 0-1 show token 0, frames 2-3 token 1
  const f = tokenMapToFrames(m, 4, 2);
  assert.deepEqual(f.shape, [4, 1, 2]);
  assert.deepEqual(Array.from(f.data).map((v) => +v.toFixed(6)), [0.2, 0.2, 0.2, 0.2, 0.2, 0.4, 0.2, 0.4]);
  assert.throws(() => tokenMapToFrames(m, 8, 1), /8 frames in tubelets of 1 do not make 2 temporal tokens/);
});

/** Index of the largest value. */
const argmax = (a: ArrayLike<number>) => { let b = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i; return b; };

test("the per-frame maps peak where the recorded attention peaks (ViViT 1 tubelets, ViViT 3 without [CLS], TimeSformer divided)", async () => {
  for (const name of ["vivit-1", "vivit-3", "timesformer-divided"]) {
    const m = loadExplainable(dirs[name]);
    assert.equal(m.kind, "video");
    if (m.kind !== "video") continue;
    const e = await explainVideoFile(m, join(root, "clip.mp4"));
    assert.equal(e.numFrames, T);
    // the same clip through the model, recorded independently of the explainer
    const clip = loadVideoClip(join(root, "clip.mp4"), { numFrames: T, imageSize: S, numChannels: 1 });
    const { attentions } = noGrad(() => recordAttention(m.model, () => m.model.forward(clip)));
    assert.equal(e.layers.length, attentions.length);
    const depth = m.need.tubeletDepth, ns = 16;
    for (const [i, r] of attentions.entries()) {
      const l = e.layers[i];
      const [Bx, H, Tq, Tk] = r.weights.shape;
      if (l.kind === "temporal") { assert.ok(Tk === m.layout.nt || Tk === m.layout.nt + 1, `${name} ${r.module}`); continue; }
      // the largest head-mean weight among the keys that are patches, straight from the record
      const cls = Tk === m.layout.nt * ns + 1 || Tk === ns + 1;
      const flat = new Float32Array(m.layout.nt * ns);
      for (let b = 0; b < Bx; b++) for (let h = 0; h < H; h++) for (const q of cls ? [0] : Array.from({ length: Tq }, (_, k) => k)) {
        for (let j = 0; j < Tk - (cls ? 1 : 0); j++) flat[(l.kind === "joint" ? 0 : b * ns) + j] += r.weights.data[((b * H + h) * Tq + q) * Tk + (cls ? 1 : 0) + j];
      }
      const peak = argmax(flat), token = Math.floor(peak / ns), patch = peak % ns;
      const fm = l.mean!;
      assert.deepEqual(fm.shape, [T, 4, 4]);
      const got = argmax(fm.data);
      assert.equal(got % ns, patch, `${name} ${r.module}: peak patch`);
      assert.equal(Math.floor(Math.floor(got / ns) / depth), token, `${name} ${r.module}: peak frame`);
      // frames of one tubelet show the same map
      if (depth === 2) assert.deepEqual(fm.data.subarray(0, ns), fm.data.subarray(ns, 2 * ns));
    }
    assert.equal(e.rolloutOver, name === "vivit-1" ? "all layers" : "spatial attention");
    // gradient-weighted attention only where every call is joint space-time attention; its map
    // is the [CLS] row of the relevance computed directly, each tubelet on its frames
    assert.equal(e.gradient === null, name !== "vivit-1");
    if (e.gradient) {
      const g = gradientAttention(m.model, () => m.model.forward(clip), { target: e.predicted });
      const R = g.relevance!, n = R.shape[1];
      for (let f = 0; f < T; f++) for (let j = 0; j < ns; j++) {
        const token = Math.floor(f / m.need.tubeletDepth) * ns + j;
        assert.ok(Math.abs(e.gradient.data[f * ns + j] - R.data[1 + token]) < 1e-6, `gradient map frame ${f} patch ${j}`);
      }
      assert.equal(n, 1 + m.layout.nt * ns);
    }
  }
});

test("tsformer attention on a clip writes per-frame strips and animated GIFs", async () => {
  const out = join(root, "out");
  const logs: string[] = [];
  const log = console.log;
  console.log = (s: string) => logs.push(String(s));
  let code: number;
  try {
    code = await main(["attention", "--model", dirs["vivit-1"], join(root, "clip.gif"), "--out", out, "--json"]);
  } finally {
    console.log = log;
  }
  assert.equal(code, 0);
  const summary = JSON.parse(logs.at(-1)!) as { frames: number; label: string; files: string[] };
  assert.equal(summary.frames, T);
  assert.ok(videoClassNames("direction").includes(summary.label));
  const names = summary.files.map((f) => f.slice(out.length + 1)).sort();
  // input strip, rollout, gradient, and each of the 2 layers (head mean, then each of its 4 heads) as strip + GIF, report
  const perLayer = [0, 1].flatMap((i) => [`attn${i}`, ...[0, 1, 2, 3].map((h) => `attn${i}-head${h}`)]);
  const expected = ["frames.png", "index.html", ...["gradient", "rollout", ...perLayer].flatMap((v) => [`${v}-strip.png`, `${v}.gif`])].sort();
  assert.deepEqual(names, expected);
  const gif = await sharp(readFileSync(join(out, "rollout.gif")), { animated: true }).metadata();
  assert.equal(gif.format, "gif");
  assert.equal(gif.pages, T);
  assert.equal(gif.width, 96);
  assert.equal(gif.pageHeight, 96);
  const strip = await sharp(readFileSync(join(out, "rollout-strip.png"))).metadata();
  assert.deepEqual([strip.width, strip.height], [T * 96 + (T - 1) * 2, 96]);
  const html = readFileSync(join(out, "index.html"), "utf8");
  assert.match(html, /rollout\.gif/);
  assert.equal(JSON.parse(readFileSync(join(out, "prediction.json"), "utf8")).frames, T);
  // a broken clip: ffmpeg's refusal names the file
  await assert.rejects(main(["attention", "--model", dirs["vivit-1"], join(root, "broken.mp4"), "--out", join(root, "bad")]), /broken\.mp4/);
});

function http(url: string, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, method, headers, timeout: 20_000 }, (res) => {
      let s = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (s += c));
      res.on("end", () => resolve({ status: res.statusCode!, body: s }));
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

test("the explorer explains an uploaded clip and answers bad clips clearly", async (t) => {
  const s = await startServer({ model: dirs["timesformer-divided"], port: 0, maxUploadBytes: 256 * 1024 });
  t.after(() => s.close());
  const info = JSON.parse((await http(s.url, "GET", "/api/model")).body) as { kind: string; frames: number; labels: string[] };
  assert.deepEqual([info.kind, info.frames, info.labels.length], ["video", T, 4]);
  const mp4 = readFileSync(join(root, "clip.mp4"));
  const res = await http(s.url, "POST", "/api/explain/video", mp4, { "content-type": "video/mp4", "x-file-name": "clip.mp4" });
  assert.equal(res.status, 200, res.body);
  const j = JSON.parse(res.body) as { kind: string; numFrames: number; label: string; top: { p: number }[]; views: { name: string; strip: string; gif: string }[]; rollout: { shape: number[] } };
  assert.equal(j.kind, "video");
  assert.equal(j.numFrames, T);
  assert.deepEqual(j.rollout.shape, [T, 4, 4]);
  assert.ok(Math.abs(j.top.reduce((a, b) => a + b.p, 0) - 1) < 1e-5);
  const roll = j.views.find((v) => v.name === "rollout")!;
  const gif = await sharp(Buffer.from(roll.gif.replace(/^data:image\/gif;base64,/, ""), "base64"), { animated: true }).metadata();
  assert.equal(gif.pages, T);
  // the same clip through the CLI's path gives the same prediction
  const m = loadVideoExplainable(dirs["timesformer-divided"]);
  assert.equal(j.label, (await explainVideoFile(m, join(root, "clip.mp4"))).label);
  // bad uploads: not a video, empty, wrong type, too big, an image endpoint; the server keeps serving
  const broken = await http(s.url, "POST", "/api/explain/video", Buffer.from("not a clip"), { "content-type": "video/mp4", "x-file-name": "holiday.mp4" });
  assert.equal(broken.status, 400);
  assert.match(JSON.parse(broken.body).error, /the upload "holiday\.mp4"/);
  assert.doesNotMatch(broken.body, /tsformer-serve-/); // no temporary path leaks
  assert.equal((await http(s.url, "POST", "/api/explain/video", Buffer.alloc(0), { "content-type": "video/mp4" })).status, 400);
  const typed = await http(s.url, "POST", "/api/explain/video", mp4, { "content-type": "text/plain" });
  assert.equal(typed.status, 415);
  assert.match(JSON.parse(typed.body).error, /expected a clip/);
  assert.equal((await http(s.url, "POST", "/api/explain/video", Buffer.alloc(300 * 1024), { "content-type": "video/mp4" })).status, 413);
  const img = await http(s.url, "POST", "/api/explain/image", mp4, { "content-type": "image/png" });
  assert.equal(img.status, 400);
  assert.match(JSON.parse(img.body).error, /explains clips, not images/);
  assert.equal((await http(s.url, "POST", "/api/explain/video", readFileSync(join(root, "clip.gif")), { "content-type": "image/gif", "x-file-name": "clip.gif" })).status, 200);
});

test("a CNN + Transformer checkpoint is refused with the reason", () => {
  manualSeed(5);
  const spec = videoModelSpec("cnn-transformer", { numLabels: 4, numFrames: T, imageSize: S, numChannels: 1 });
  const dir = join(root, "cnn");
  saveVideoCheckpoint(dir, buildVideoModel(spec), spec, { name: "cnn-transformer", label: "direction", classNames: videoClassNames("direction") });
  assert.throws(() => loadExplainable(dir), /cnn-transformer attends over whole frames only/);
});
