// The guide (docs/guide/): every example runs in its small setting and what its chapter claims
// is checked on the numbers it returns; every code block of the guide is text of an example
// file, and every picture the guide shows is one the examples write.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import * as ch01 from "../examples/guide/01-rnn-drawbacks.js";
import * as ch02 from "../examples/guide/02-attention-five-steps.js";
import * as ch02cost from "../examples/guide/02-attention-cost.js";
import * as ch03 from "../examples/guide/03-self-vs-cross.js";
import * as ch03g2p from "../examples/guide/03-g2p-alignment.js";
import * as ch04 from "../examples/guide/04-multi-head.js";
import * as ch05 from "../examples/guide/05-position-codes.js";
import * as ch06 from "../examples/guide/06-encoder-decoder.js";
import * as ch07 from "../examples/guide/07-gpt-bert-t5.js";
import * as ch08 from "../examples/guide/08-vit-patches.js";
import * as ch09 from "../examples/guide/09-cnn-vs-vit.js";
import * as ch10 from "../examples/guide/10-video.js";
import * as ch11 from "../examples/guide/11-heat-maps.js";

const root = fileURLToPath(new URL("../../", import.meta.url)); // dist/test -> the repository
const out = mkdtempSync(join(tmpdir(), "tsformer-guide-"));
const opts = { setting: "small" as const, out, log: () => {} };
const written = new Set<string>();
const keep = (pictures: string[]) => { for (const p of pictures) { assert.ok(existsSync(p), `${p} was not written`); written.add(basename(p)); } };
after(() => rmSync(out, { recursive: true, force: true }));

test("guide 1: the GRU trains slower per epoch than the Transformer at equal size", async () => {
  const r = await ch01.run(opts);
  keep(r.pictures);
  for (const row of r.rows) {
    assert.ok(Math.abs(row.gruParams / row.transformerParams - 1) < 0.1, `sizes ${row.gruParams} vs ${row.transformerParams}`);
    assert.ok(row.ratio > 1, `length ${row.length}: GRU ${row.gruSeconds} s vs Transformer ${row.transformerSeconds} s`);
  }
});

test("guide 2: the five steps equal the fused kernel; masked rows sum to 1 with nothing on the future", async () => {
  const r = await ch02.run(opts);
  keep(r.pictures);
  assert.ok(r.maxDiff < 1e-5 && r.maxDiffCausal < 1e-5, `${r.maxDiff} ${r.maxDiffCausal}`);
  for (const s of r.rowSums) assert.ok(Math.abs(s - 1) < 1e-5);
  assert.equal(r.futureWeight, 0);
  const svg = readFileSync(join(out, "02-weights.svg"), "utf8");
  assert.equal((svg.match(/class="cell"/g) ?? []).length, r.tokens.length ** 2);
});

test("guide 2: explicit attention keeps O(T^2) memory for backward, the fused kernel O(T); time grows faster than linearly", async () => {
  const r = await ch02cost.run(opts);
  keep(r.pictures);
  assert.ok(r.slopes.explicitMemory > 1.8 && r.slopes.explicitMemory < 2.2, `explicit memory exponent ${r.slopes.explicitMemory}`);
  assert.ok(r.slopes.fusedMemory > 0.8 && r.slopes.fusedMemory < 1.2, `fused memory exponent ${r.slopes.fusedMemory}`);
  const first = r.rows[1], last = r.rows[r.rows.length - 1], n = last.T / first.T; // 1024 vs 256: linear would be 4x
  assert.ok(last.explicitMs / first.explicitMs > n, `explicit ${first.explicitMs} ms -> ${last.explicitMs} ms`);
  assert.ok(last.fusedBytes < last.explicitBytes / 20);
});

test("guide 3: self-attention is [T, T] and causal in the decoder; cross-attention [T, S] follows the reversal", async () => {
  const r = await ch03.run(opts);
  keep(r.pictures);
  assert.ok(r.exactMatch > 0.8, `exact match ${r.exactMatch}`);
  assert.deepEqual(r.shapes, { encoderSelf: [8, 8], decoderSelf: [9, 9], cross: [9, 8] });
  assert.ok(r.decoderFutureWeight < 1e-6);
  assert.ok(Math.min(...r.centreCorrelation) < -0.8, `correlations ${r.centreCorrelation}`);
});

test("guide 3: a G2P Transformer's cross-attention aligns phonemes to letters left to right", async () => {
  const r = await ch03g2p.run(opts);
  keep(r.pictures);
  assert.ok(r.phonemes.length > 0);
  assert.deepEqual(r.shape, [r.phonemes.length + 1, r.word.length]);
  assert.ok(r.rowSumError < 1e-5, `row sums off by ${r.rowSumError}`);
  assert.ok(Math.min(...r.correlations) > 0.8, `correlations ${r.correlations}`);
});

test("guide 4: multi-head attention by hand (split, attend per head, concatenate, project) equals MultiHeadAttention", async () => {
  const r = await ch04.run(opts);
  keep(r.pictures);
  assert.ok(r.maxDiff < 1e-5 && r.maxWeightDiff < 1e-6, `${r.maxDiff} ${r.maxWeightDiff}`);
  assert.equal(r.pictures.length, r.heads);
  for (const d of r.headDistances) assert.ok(d > 1e-3, "heads should differ");
});

test("guide 5: binary codes are distinct; the sinusoidal shift is a rotation and dot products depend on the offset only", async () => {
  const r = await ch05.run(opts);
  keep(r.pictures);
  assert.ok(r.binaryDistinct && r.binaryPeriodsOk);
  assert.ok(r.rotationError < 1e-4, `rotation error ${r.rotationError}`);
  assert.ok(r.dotSpread < 1e-3, `dot spread ${r.dotSpread}`);
  assert.ok(r.dotByOffset[0] > r.dotByOffset[1] && r.dotByOffset[1] > r.dotByOffset[4], "similarity falls with distance");
  const meta = await sharp(join(out, "05-sinusoidal.png")).metadata();
  assert.deepEqual([meta.width, meta.height], [64 * 4, 64 * 4]);
});

test("guide 6: encoder blocks reach every position and are permutation-equivariant; decoder blocks are causal", async () => {
  const r = await ch06.run(opts);
  keep(r.pictures);
  assert.equal(r.encoderParams, r.encoderParamsFormula);
  assert.equal(r.decoderParams, r.decoderParamsFormula);
  assert.ok(r.permutationError < 1e-5);
  r.encoderInfluence.forEach((row) => row.forEach((v) => assert.ok(v > 1e-4)));
  r.decoderInfluence.forEach((row, i) => row.forEach((v, j) => assert.ok(j <= i ? v > 1e-4 : v === 0, `decoder [${i}, ${j}] = ${v}`)));
});

test("guide 7: GPT is causal, BERT bidirectional, T5's encoder sees all and its decoder is causal", async () => {
  const r = await ch07.run(opts);
  keep(r.pictures);
  assert.ok(r.futureWeight.gpt < 1e-6 && r.futureWeight.bert > 0.5);
  assert.deepEqual(r.shapes, { gpt: [8, 8], bert: [8, 8] });
  r.reach.gpt.forEach((row, i) => row.forEach((v, j) => assert.equal(v, j <= i)));
  r.reach.bert.forEach((row) => row.forEach((v) => assert.ok(v)));
  r.reach.t5Source.forEach((row) => row.forEach((v) => assert.ok(v)));
  r.reach.t5Target.forEach((row, i) => row.forEach((v, j) => assert.equal(v, j <= i)));
});

test("guide 8: the patch embedding is a linear map of each flattened patch (eq. 1)", async () => {
  const r = await ch08.run(opts);
  keep(r.pictures);
  assert.ok(r.maxDiff < 1e-4, `${r.maxDiff}`);
  assert.equal(r.tokens, 50);
  assert.equal(r.tokens224, 197);
});

test("guide 9: a convolution follows every shift, ViT patch tokens only shifts by whole patches", async () => {
  const r = await ch09.run(opts);
  keep(r.pictures);
  for (const row of r.rows) {
    assert.ok(row.cnnError < 1e-5, `CNN at ${row.shift}: ${row.cnnError}`);
    if (row.shift % 4 === 0) assert.ok(row.vitError < 1e-5, `ViT at ${row.shift}: ${row.vitError}`);
    else assert.ok(row.vitError > 0.1, `ViT at ${row.shift}: ${row.vitError}`);
  }
});

test("guide 10: joint space-time attention has (TN+1)^2 pairs per layer, divided N T^2 + T (N+1)^2", async () => {
  const r = await ch10.run(opts);
  keep(r.pictures);
  for (const row of r.rows) {
    const T = row.frames, N = row.patches;
    assert.equal(row.joint, (T * N + 1) ** 2);
    assert.equal(row.divided, N * T * T + T * (N + 1) ** 2);
    assert.equal(row.spaceOnly, T * (N + 1) ** 2);
  }
});

test("guide 11: a ViT trained on digits, with heat maps of its attention", async () => {
  const r = await ch11.run(opts);
  keep(r.pictures);
  assert.ok(r.testAccuracy > 0.3, `test accuracy ${r.testAccuracy}`);
  assert.ok(r.lossCurve[r.lossCurve.length - 1] < r.lossCurve[0]);
  for (const x of r.inkRatios) assert.ok(Number.isFinite(x) && x > 0);
  const meta = await sharp(join(out, "11-heat-maps.png")).metadata();
  assert.deepEqual([meta.width, meta.height], [3 * 168 + 2 * 4, 4 * 168 + 3 * 4]);
});

test("guide: every code block is text of its example file, every picture is one the examples write", () => {
  const dir = join(root, "docs/guide");
  const chapters = readdirSync(dir).filter((f) => f.endsWith(".md"));
  assert.ok(chapters.length >= 12, `chapters: ${chapters}`);
  let blocks = 0;
  for (const f of chapters) {
    const md = readFileSync(join(dir, f), "utf8");
    for (const m of md.matchAll(/<!-- from (examples\/guide\/[\w.-]+\.ts) -->\s*```ts\n([\s\S]*?)```/g)) {
      const source = readFileSync(join(root, m[1]), "utf8");
      for (const line of m[2].split("\n").map((l) => l.trim()).filter((l) => l && l !== "// ...")) {
        assert.ok(source.includes(line), `${f}: "${line}" is not in ${m[1]}`);
      }
      blocks++;
    }
    assert.equal((md.match(/```ts/g) ?? []).length, [...md.matchAll(/<!-- from /g)].length, `${f}: a code block without its example`);
    for (const m of md.matchAll(/\]\(img\/([\w.-]+)\)/g)) {
      assert.ok(existsSync(join(dir, "img", m[1])), `${f}: img/${m[1]} is not committed`);
      if (written.size > 0) assert.ok(written.has(m[1]), `${f}: img/${m[1]} is not written by any example`);
    }
  }
  assert.ok(blocks >= 11, `${blocks} code blocks`);
});
