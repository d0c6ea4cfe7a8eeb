// Positional encodings and the properties the theory claims for them.

import assert from "node:assert/strict";
import { test } from "node:test";
import { position, randn, manualSeed, Tensor } from "../src/index.js";

test("sinusoidal: PE(pos + k) is a fixed rotation of PE(pos), for every pos", () => {
  const d = 16, L = 60;
  const pe = position.sinusoidalTable(L, d).data;
  for (const k of [1, 5, 17]) {
    for (let i = 0; i < d; i += 2) {
      const w = 1 / Math.pow(10000, i / d);
      const c = Math.cos(k * w), s = Math.sin(k * w);
      for (let pos = 0; pos + k < L; pos++) {
        const sin = pe[pos * d + i], cos = pe[pos * d + i + 1];
        // [sin(a+b); cos(a+b)] = [[cos b, sin b], [-sin b, cos b]] [sin a; cos a]
        assert.ok(Math.abs(pe[(pos + k) * d + i] - (c * sin + s * cos)) < 1e-5);
        assert.ok(Math.abs(pe[(pos + k) * d + i + 1] - (-s * sin + c * cos)) < 1e-5);
      }
    }
  }
});

test("sinusoidal: values in [-1, 1], any length, and a prefix of a longer table", () => {
  const short = position.sinusoidalTable(10, 8), long = position.sinusoidalTable(5000, 8);
  for (const v of long.data) assert.ok(v >= -1 && v <= 1);
  assert.deepEqual(Array.from(long.data.slice(0, 80)), Array.from(short.data));
  // distinct positions get distinct codes
  const rows = new Set<string>();
  for (let p = 0; p < 200; p++) rows.add(Array.from(long.data.slice(p * 8, p * 8 + 8)).map((x) => x.toFixed(4)).join());
  assert.equal(rows.size, 200);
});

test("binary: the bits of the position, distinct for every position", () => {
  const t = position.binaryTable(8);
  assert.deepEqual(t.shape, [8, 3]);
  assert.deepEqual(Array.from(t.data.slice(5 * 3, 6 * 3)), [1, 0, 1]); // 5 = 101, least significant first
  assert.deepEqual(Array.from(position.binaryTable(4, 2, true).data.slice(2 * 2, 3 * 2)), [-1, 1]);
  assert.throws(() => position.binaryTable(9, 3), /9 positions need more than 3 bits/);
});

test("rotary: q_m . k_n depends only on m - n", () => {
  manualSeed(9);
  const d = 8;
  const q = randn([1, d]), k = randn([1, d]);
  const dotAt = (m: number, n: number): number => {
    const qm = position.applyRotary(q, m).data, kn = position.applyRotary(k, n).data;
    let s = 0;
    for (let i = 0; i < d; i++) s += qm[i] * kn[i];
    return s;
  };
  for (const [m, n, m2, n2] of [[3, 1, 10, 8], [0, 5, 7, 12], [20, 20, 2, 2]]) {
    assert.ok(Math.abs(dotAt(m, n) - dotAt(m2, n2)) < 1e-4, `(${m},${n}) vs (${m2},${n2})`);
  }
  // position 0 is the identity; norms are preserved
  assert.deepEqual(Array.from(position.applyRotary(q, 0).data).map((x) => x.toFixed(5)), Array.from(q.data).map((x) => x.toFixed(5)));
  const r = position.applyRotary(randn([3, 5, d]));
  assert.deepEqual(r.shape, [3, 5, d]);
});

test("learned positions: added per position, refused past the table", () => {
  const pe = new position.LearnedPositionalEmbedding(6, 4);
  const x = randn([2, 3, 4]);
  const y = pe.forward(x, 2);
  for (let t = 0; t < 3; t++) for (let c = 0; c < 4; c++) {
    assert.ok(Math.abs(y.data[t * 4 + c] - x.data[t * 4 + c] - pe.weight.weight.data[(t + 2) * 4 + c]) < 1e-6);
  }
  assert.throws(() => pe.forward(randn([1, 7, 4])), /sequence of 7 positions is longer than the table of 6/);
});

test("resizing a learned position grid keeps [CLS], keeps a constant grid constant, and is identity at the same size", () => {
  const C = 3, H = 4;
  const data = Float32Array.from({ length: (1 + H * H) * C }, (_, i) => i * 0.1);
  const pos = new Tensor(data, [1, 1 + H * H, C]);
  const same = position.resizePositionEmbeddings(pos, H, H);
  assert.deepEqual(Array.from(same.data), Array.from(data));
  const big = position.resizePositionEmbeddings(pos, 6, 6);
  assert.deepEqual(big.shape, [1, 37, 3]);
  assert.deepEqual(Array.from(big.data.slice(0, 3)), Array.from(data.slice(0, 3)));
  const flat = new Tensor(new Float32Array((1 + 16) * 2).fill(0.5), [1, 17, 2]);
  for (const v of position.resizePositionEmbeddings(flat, 7, 5).data) assert.ok(Math.abs(v - 0.5) < 1e-6);
  assert.throws(() => position.resizePositionEmbeddings(randn([1, 11, 3]), 4, 4), /square grid, got \[1, 11, 3\]/);
});
