// The small public helpers of src/explain: grouping records, grids, resizing, tensor <-> image,
// SVG to PNG, escaping, [T, h, w] maps, the positive part of gradient x attention, atomic writes.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { Tensor, tensor } from "../src/index.js";
import {
  escapeXml, frameGrids, groupByModule, heatmapImage, normalizeGrid, positiveGradTimesAttention, relevanceRollout, resizeNearest,
  svgToPng, tensorToImage, viridis, writeFileAtomic, type AttentionRecord,
} from "../src/explain/index.js";

test("groupByModule keeps first-call order and every call of a module", () => {
  const w = new Tensor(new Float32Array(1), [1, 1, 1, 1]);
  const recs: AttentionRecord[] = ["a", "b", "a", "c", "b"].map((module) => ({ module, op: "multiHeadAttention", weights: w }));
  const g = groupByModule(recs);
  assert.deepEqual([...g.keys()], ["a", "b", "c"]);
  assert.deepEqual([...g.values()].map((l) => l.length), [2, 2, 1]);
});

test("normalizeGrid scales to [0, 1]; heatmapImage colours cells by value", () => {
  const g = normalizeGrid({ rows: 1, cols: 3, data: Float32Array.from([2, 4, 3]) });
  assert.deepEqual(Array.from(g.data), [0, 1, 0.5]);
  assert.deepEqual(Array.from(normalizeGrid({ rows: 1, cols: 2, data: Float32Array.from([5, 5]) }).data), [0, 0]);
  const img = heatmapImage({ rows: 1, cols: 3, data: Float32Array.from([2, 4, 3]) }, 6, 2, { interpolation: "nearest" });
  assert.deepEqual([img.width, img.height], [6, 2]);
  assert.deepEqual(Array.from(img.data.subarray(0, 3)), viridis(0));
  assert.deepEqual(Array.from(img.data.subarray(2 * 3, 3 * 3)), viridis(1));
  assert.deepEqual(Array.from(img.data.subarray(4 * 3, 5 * 3)), viridis(0.5));
});

test("resizeNearest repeats pixels; tensorToImage undoes normalisation", () => {
  const im = { width: 2, height: 1, data: Uint8Array.from([10, 20, 30, 40, 50, 60]) };
  const big = resizeNearest(im, 4, 2);
  assert.deepEqual(Array.from(big.data.subarray(0, 12)), [10, 20, 30, 10, 20, 30, 40, 50, 60, 40, 50, 60]);
  // (x * 0.5 + 0.5) * 255 for x in {-1, 0, 1}
  const t = tensor([[[[-1, 0, 1]]]]);
  const rgb = tensorToImage(t, { mean: [0.5], std: [0.5] });
  assert.deepEqual(Array.from(rgb.data), [0, 0, 0, 128, 128, 128, 255, 255, 255]);
  assert.throws(() => tensorToImage(tensor([[1, 2]])), /expected \[C, H, W\] or \[1, C, H, W\] with 1 or 3 channels, got \[1, 2\]/);
});

test("svgToPng renders at the SVG's size; escapeXml escapes the five characters", async () => {
  const png = await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="7" height="5"><rect width="7" height="5" fill="#f00"/></svg>');
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, data[0], data[1], data[2]], [7, 5, 255, 0, 0]);
  assert.equal(escapeXml(`<a href="x">Tom & 'Jerry'</a>`), "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
});

test("frameGrids splits a [T, h, w] map and checks its size", () => {
  const g = frameGrids({ data: [1, 2, 3, 4, 5, 6, 7, 8], shape: [2, 2, 2] });
  assert.deepEqual(g.map((x) => Array.from(x.data)), [[1, 2, 3, 4], [5, 6, 7, 8]]);
  assert.throws(() => frameGrids({ data: [1, 2, 3], shape: [2, 2, 2] }), /3 values for \[2, 2, 2\]/);
  assert.throws(() => frameGrids({ data: [1, 2], shape: [2] }), /must be \[T, h, w\], got \[2\]/);
});

test("positiveGradTimesAttention keeps the positive part of A * dA, averaged over heads; relevance adds it to I", () => {
  // [1, 2, 1, 2]: head 0 A=[.5,.5] g=[2,-2] -> [1, 0]; head 1 A=[1,0] g=[1,5] -> [1, 0]; mean [1, 0]
  const A = new Tensor(Float32Array.from([0.5, 0.5, 1, 0]), [1, 2, 1, 2]);
  const G = new Tensor(Float32Array.from([2, -2, 1, 5]), [1, 2, 1, 2]);
  assert.deepEqual(Array.from(positiveGradTimesAttention(A, G).data), [1, 0]);
  assert.throws(() => positiveGradTimesAttention(A, new Tensor(new Float32Array(2), [1, 2])), /must both be \[B, H, Tq, Tk\]/);
  // R = I + M with one layer M = [[0, 1], [0, 0]]
  const R = relevanceRollout([new Tensor(Float32Array.from([0, 1, 0, 0]), [1, 2, 2])])!;
  assert.deepEqual(Array.from(R.data), [1, 1, 0, 1]);
  assert.equal(relevanceRollout([new Tensor(new Float32Array(6), [1, 2, 3])]), null);
});

test("writeFileAtomic leaves only the final file", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsformer-atomic-"));
  try {
    writeFileAtomic(join(dir, "sub", "a.txt"), "one");
    writeFileAtomic(join(dir, "sub", "a.txt"), new Uint8Array([116, 119, 111]));
    assert.equal(readFileSync(join(dir, "sub", "a.txt"), "utf8"), "two");
    assert.deepEqual(readdirSync(join(dir, "sub")), ["a.txt"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
