// Pictures: heat maps peak where the recorded attention peaks, PNGs and GIFs decode to the
// expected sizes, SVGs render (so they parse) with one cell per weight, curves go the way the
// data goes, and a report links only files it wrote.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { Tensor, manualSeed, models, rand, randn } from "../src/index.js";
import {
  attentionMatrixSvg, decodeImage, encodeGif, encodePng, explainImage, imageToInput, lineChartSvg, niceTicks, overlayHeatmap,
  recordAttention, tileImages, tokenAttentionGrid, videoHeatmaps, videoStrip, viridis, writeReport, type Grid, type RGBImage,
} from "../src/explain/index.js";

const lum = (d: ArrayLike<number>, i: number) => 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
const argmax = (a: ArrayLike<number>) => { let k = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i; return k; };

function brightestPixel(img: { width: number; height: number; data: ArrayLike<number> }): [number, number] {
  let best = -1, bx = 0, by = 0;
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) {
    const l = lum(img.data, (y * img.width + x) * 3);
    if (l > best) { best = l; bx = x; by = y; }
  }
  return [bx, by];
}

async function decodeRaw(png: Buffer) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

const grey = (w: number, h: number, v = 128): RGBImage => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) });

test("viridis brightens monotonically from 0 to 1", () => {
  let prev = -1;
  for (let i = 0; i <= 100; i++) {
    const c = viridis(i / 100), l = lum(c, 0);
    assert.ok(l >= prev - 1e-9, `luminance drops at ${i / 100}`);
    prev = l;
  }
});

test("[CLS] grid, head selection and mean read the right row of the weights", () => {
  // [1, 2, 5, 5]: [CLS] + 2x2 patches; head 0 looks at patch 3, head 1 at patch 0
  const w = new Float32Array(2 * 25);
  w[0 * 25 + 0 * 5 + 1 + 3] = 1;
  w[1 * 25 + 0 * 5 + 1 + 0] = 0.5;
  w[1 * 25 + 0 * 5 + 0] = 0.5;
  const t = new Tensor(w, [1, 2, 5, 5]);
  assert.deepEqual(Array.from(tokenAttentionGrid(t, { head: 0 }).data), [0, 0, 0, 1]);
  assert.deepEqual(Array.from(tokenAttentionGrid(t, { head: 1 }).data), [0.5, 0, 0, 0]);
  assert.deepEqual(Array.from(tokenAttentionGrid(t).data), [0.25, 0, 0, 0.5]);
  assert.throws(() => tokenAttentionGrid(t, { head: 2 }), /head 2 out of range \[0, 2\)/);
  assert.throws(() => tokenAttentionGrid(new Tensor(new Float32Array(36), [1, 1, 6, 6]), { grid: [2, 2] }), /5 patch tokens \(6 keys - 1 prefix\) do not fill a 2x2 grid/);
});

test("the heat map's brightest pixel lies in the patch the recorded attention peaks on", async () => {
  manualSeed(5);
  const vit = new models.ViTForImageClassification(models.vitPresets["vit-mnist"]);
  vit.eval();
  const { attentions } = recordAttention(vit, () => vit.forward(randn([1, 1, 28, 28])));
  for (const [l, a] of attentions.entries()) {
    for (const head of [0, 3, "mean"] as const) {
      const g = tokenAttentionGrid(a.weights, { head });
      // the peak from the weights themselves: row 0 of [1, 4, 50, 50], keys 1..49
      const row = new Float32Array(49);
      const heads = head === "mean" ? [0, 1, 2, 3] : [head];
      for (const h of heads) for (let j = 0; j < 49; j++) row[j] += a.weights.data[h * 2500 + 1 + j];
      const peak = argmax(row), pr = Math.floor(peak / 7), pc = peak % 7;
      for (const interpolation of ["nearest", "bilinear"] as const) {
        const png = await encodePng(overlayHeatmap(grey(224, 224), g, { alpha: 1, interpolation }));
        const img = await decodeRaw(png);
        assert.equal(img.width, 224);
        assert.equal(img.height, 224);
        const [x, y] = brightestPixel(img);
        assert.equal(Math.floor(y / 32), pr, `layer ${l} head ${head} ${interpolation}: brightest row`);
        assert.equal(Math.floor(x / 32), pc, `layer ${l} head ${head} ${interpolation}: brightest column`);
      }
    }
  }
});

test("a grid of heads tiles images in order with padding", () => {
  const ims = [0, 1, 2, 3, 4].map((v) => grey(4, 3, v * 10));
  const t = tileImages(ims, { cols: 3, pad: 1 });
  assert.equal(t.width, 3 * 4 + 2);
  assert.equal(t.height, 2 * 3 + 1);
  assert.equal(t.data[(0 * t.width + 5) * 3], 10); // image 1 starts at x = 5
  assert.equal(t.data[(4 * t.width + 5) * 3], 40); // image 4 on the second row
  assert.equal(t.data[(0 * t.width + 4) * 3], 255); // padding
  assert.throws(() => tileImages([grey(4, 3), grey(3, 3)]), /image 1 is 3x3, image 0 is 4x3/);
});

test("attention matrix SVG: renders, one cell per weight, brightest cell at the largest weight, labels escaped", async () => {
  const src = ["<s>", "le", "chat", "&"], tgt = ["the", "cat", "</s>"];
  const w = [0.7, 0.2, 0.05, 0.05, 0.1, 0.1, 0.8, 0, 0.3, 0.3, 0.2, 0.2];
  const svg = attentionMatrixSvg(w, 3, 4, { rowLabels: tgt, colLabels: src, title: "alignment" });
  assert.equal((svg.match(/<rect class="cell"/g) ?? []).length, 12);
  assert.ok(svg.includes("&lt;s&gt;") && svg.includes("&amp;") && !svg.includes(">chat &<"));
  const brightest = /data-i="(\d+)" data-j="(\d+)" data-w="[^"]+" x="\d+" y="\d+" width="\d+" height="\d+" fill="rgb\(255,255,255\)"/.exec(svg);
  assert.deepEqual([brightest![1], brightest![2]], ["1", "2"]);
  const [, W, H] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
  const meta = await sharp(Buffer.from(svg)).png().metadata(); // librsvg rejects malformed XML
  assert.equal(meta.width, W);
  assert.equal(meta.height, H);
  await assert.rejects(sharp(Buffer.from(svg.replace("</svg>", ""))).png().toBuffer());
  assert.throws(() => attentionMatrixSvg(w, 3, 3), /12 weights for a 3x3 matrix/);
});

test("line chart: a falling loss is drawn falling, ticks are round, and the SVG renders", async () => {
  const loss = [2.3, 1.1, 0.7, 0.5, 0.45];
  const svg = lineChartSvg([{ name: "train loss", y: loss }, { name: "val loss", y: [2.4, 1.3, 0.9, 0.8, 0.82] }], { title: "loss", xLabel: "epoch" });
  const lines = [...svg.matchAll(/<polyline class="series" data-name="([^"]+)"[^>]* points="([^"]+)"/g)];
  assert.deepEqual(lines.map((m) => m[1]), ["train loss", "val loss"]);
  const pts = lines[0][2].split(" ").map((p) => p.split(",").map(Number));
  assert.equal(pts.length, 5);
  for (let i = 1; i < 5; i++) {
    assert.ok(pts[i][0] > pts[i - 1][0], "x increases");
    assert.ok(pts[i][1] > pts[i - 1][1], "a smaller loss is lower on the page (larger y)");
  }
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(1, 3, 6, true), [1, 2, 3]); // epochs
  const xTicks = [...svg.matchAll(/<text x="[0-9.]+" y="\d+" text-anchor="middle">([0-9.]+)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(xTicks, ["1", "2", "3", "4", "5"]);
  const meta = await sharp(Buffer.from(svg)).png().metadata();
  assert.equal(meta.width, 480);
  assert.throws(() => lineChartSvg([{ name: "a", y: [1, 2], x: [1] }]), /series "a" has 1 x and 2 y values/);
});

test("video: each frame's heat map peaks where that frame's map does; strip and GIF have every frame", async () => {
  // [T=4, 3, 3] map whose peak walks along the diagonal then back
  const T = 4, peaks = [0, 4, 8, 4];
  const map = new Float32Array(T * 9);
  peaks.forEach((p, t) => { map[t * 9 + p] = 1 + t; for (let i = 0; i < 9; i++) map[t * 9 + i] += 0.1; });
  const frames = Array.from({ length: T }, () => grey(48, 48));
  const heat = videoHeatmaps(frames, { data: map, shape: [T, 3, 3] }, { alpha: 1, interpolation: "nearest" });
  heat.forEach((f, t) => {
    const [x, y] = brightestPixel(f);
    assert.equal(Math.floor(y / 16) * 3 + Math.floor(x / 16), peaks[t], `frame ${t}`);
  });
  // normalised jointly: the last frame's peak (weight 4.1) is brighter than the first's (1.1)
  assert.ok(lum(heat[3].data, (24 * 48 + 24) * 3) > lum(heat[0].data, (8 * 48 + 8) * 3));
  const strip = videoStrip(heat, 2);
  assert.equal(strip.width, 4 * 48 + 3 * 2);
  assert.equal(strip.height, 48);
  const gif = await encodeGif(heat, { delayMs: 100 });
  const meta = await sharp(gif, { animated: true }).metadata();
  assert.equal(meta.format, "gif");
  assert.equal(meta.pages, T);
  assert.equal(meta.pageHeight, 48);
  assert.equal(meta.width, 48);
  assert.throws(() => videoHeatmaps(frames.slice(1), { data: map, shape: [T, 3, 3] }), /3 frames but the map has 4 time steps/);
});

test("writeReport writes curves, pictures and an index that links only files it wrote", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsformer-report-"));
  try {
    const png = await encodePng(grey(8, 8));
    const r = await writeReport(dir, {
      title: "ViT <mnist> run",
      config: { model: "vit-mnist", lr: 0.001, layers: [4, 4] },
      metrics: { "test accuracy": 0.97321, epochs: 3 },
      curves: [{ name: "loss", title: "loss", series: [{ name: "train", y: [1, 0.5, 0.3] }] }],
      sections: [{ title: "Attention", pictures: [{ name: "rollout.png", title: "rollout", png }, { name: "m.svg", title: "matrix", svg: attentionMatrixSvg([1], 1, 1) }] }],
    });
    const html = readFileSync(r.index, "utf8");
    assert.ok(html.includes("<title>ViT &lt;mnist&gt; run</title>"));
    assert.ok(html.includes("<td>0.9732</td>") && html.includes("<td>[4,4]</td>"));
    const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(srcs, ["loss.svg", "rollout.png", "m.svg"]);
    for (const s of srcs) assert.ok(existsSync(join(dir, s)), s);
    assert.deepEqual(readFileSync(join(dir, "rollout.png")), png);
    assert.equal(r.files[r.files.length - 1], r.index);
    assert.ok(!html.includes("<script"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("explainImage on a ViT: prediction, one grid per layer and head, and decodable pictures", async () => {
  manualSeed(6);
  const vit = new models.ViTForImageClassification(models.vitPresets["vit-mnist"]);
  vit.eval();
  const x = rand([1, 1, 28, 28]);
  const image: RGBImage = { width: 28, height: 28, data: Uint8Array.from({ length: 28 * 28 * 3 }, (_, i) => Math.round(255 * x.data[Math.floor(i / 3)])) };
  const e = await explainImage(vit, x, image, { labels: "0123456789".split("") });
  const logits = vit.forward(x).logits.data;
  assert.equal(e.predicted, argmax(logits));
  assert.equal(e.label, String(e.predicted));
  assert.ok(Math.abs(e.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.equal(e.layers.length, 4);
  assert.equal(e.layers[0].heads.length, 4);
  assert.ok(e.gradient !== null);
  assert.deepEqual(e.pictures.map((p) => p.name), ["input.png", ...[0, 1, 2, 3].flatMap((l) => [`layer${l}-mean.png`, `layer${l}-heads.png`]), "rollout.png", "gradient.png"]);
  const meta = await sharp(e.pictures[1].png!).metadata();
  assert.deepEqual([meta.width, meta.height], [224, 224]);
  const heads = await sharp(e.pictures[2].png!).metadata();
  assert.deepEqual([heads.width, heads.height], [2 * 112 + 2, 2 * 112 + 2]);
  const g: Grid = e.rollout;
  assert.equal(g.data.length, 49);
});

test("decodeImage reads PNG bytes, resizes, and names a bad upload", async () => {
  const png = await encodePng({ width: 2, height: 1, data: Uint8Array.from([255, 0, 0, 0, 0, 255]) });
  const im = await decodeImage(png);
  assert.deepEqual([im.width, im.height, ...im.data], [2, 1, 255, 0, 0, 0, 0, 255]);
  const big = await decodeImage(png, { width: 4, height: 4 });
  assert.equal(big.data.length, 48);
  const input = imageToInput(im, 1);
  assert.deepEqual(input.shape, [1, 1, 1, 2]);
  assert.ok(Math.abs(input.data[0] - 0.299) < 1e-3);
  await assert.rejects(decodeImage(Buffer.from("not an image at all"), { what: "upload x.txt" }), /upload x.txt could not be decoded as an image/);
  await assert.rejects(decodeImage(new Uint8Array(0)), /image is empty/);
});

test("writeImageClassifierReport: loss and accuracy charts from the history and a section per sample", async () => {
  const { writeImageClassifierReport } = await import("../src/explain/index.js");
  manualSeed(8);
  const vit = new models.ViTForImageClassification(models.vitPresets["vit-mnist"]);
  vit.eval();
  const dir = mkdtempSync(join(tmpdir(), "tsformer-run-report-"));
  try {
    const r = await writeImageClassifierReport(dir, {
      title: "ViT on MNIST", model: vit, labels: "0123456789".split(""),
      history: { "train loss": [2.1, 1.0, 0.6], "test loss": [2.0, 1.1, 0.7], "test accuracy": [0.4, 0.8, 0.9] },
      metrics: { "test accuracy": 0.9 },
      samples: [{ input: rand([1, 1, 28, 28]), label: 3 }, { input: rand([1, 1, 28, 28]) }],
    });
    const html = readFileSync(r.index, "utf8");
    const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(srcs.slice(0, 2), ["loss.svg", "accuracy.svg"]);
    assert.deepEqual(srcs.slice(2, 6), ["sample1-input.png", "sample1-rollout.png", "sample1-gradient.png", "sample1-layer3-heads.png"]);
    assert.equal(srcs.length, 10);
    assert.match(html, /Sample 1: predicted \d \(p = [0-9.]+, true class 3\)/);
    const loss = readFileSync(join(dir, "loss.svg"), "utf8");
    assert.deepEqual([...loss.matchAll(/data-name="([^"]+)"/g)].map((m) => m[1]), ["train loss", "test loss"]);
    const acc = readFileSync(join(dir, "accuracy.svg"), "utf8");
    assert.deepEqual([...acc.matchAll(/data-name="([^"]+)"/g)].map((m) => m[1]), ["test accuracy"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
