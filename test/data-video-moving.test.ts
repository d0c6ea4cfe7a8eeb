// Moving digits: reproducible clips, train clips from MNIST's training digits and test clips
// from its test digits, motion that matches the labels, the time-reversal symmetry that makes a
// bag of frames blind to direction and speed change, the bouncing recipe, and bad options.

import assert from "node:assert/strict";
import { test } from "node:test";
import { data, Generator } from "../src/index.js";

const shrink = (img: ArrayLike<number>, f: number): number[] => {
  const d = 28 / f, out: number[] = [];
  for (let y = 0; y < d; y++) for (let x = 0; x < d; x++) {
    let s = 0;
    for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += img[(y * f + dy) * 28 + x * f + dx];
    out.push(s / (f * f));
  }
  return out;
};

// a geometry with room to move: 14px digits in 32x32 frames, anywhere they fit
const roomy = { digitSize: 14, frameSize: 32, minSpeed: 0.5, maxSpeed: 3.5, jitter: Infinity };

test("clips are reproducible and drawn from their own split's digits", () => {
  const train = new data.MovingDigits("train", { ...roomy, limitDigits: 50, seed: 1 });
  const again = new data.MovingDigits("train", { ...roomy, limitDigits: 50, seed: 1 });
  const other = new data.MovingDigits("train", { ...roomy, limitDigits: 50, seed: 2 });
  assert.deepEqual(train.clip(7).frames, again.clip(7).frames);
  assert.notDeepEqual(train.clip(7).positions, other.clip(7).positions);
  const mTrain = data.loadMnist("train", { limit: 50, normalize: false });
  const mTest = data.loadMnist("test", { limit: 50, normalize: false });
  const test_ = new data.MovingDigits("test", { ...roomy, limitDigits: 50, seed: 1 });
  for (const [ds, m] of [[train, mTrain], [test_, mTest]] as const) {
    for (const i of [0, 13, 49, 77]) {
      const c = ds.clip(i), k = i % 50;
      assert.equal(c.digit, m.labels.data[k], `clip ${i} shows digit image ${k} of ${ds.split}`);
      // the frame holds the 2x2-averaged digit at the recorded position
      const want = shrink(m.images.data.subarray(k * 784, (k + 1) * 784), 2);
      const [x, y] = c.positions[3];
      for (let dy = 0; dy < 14; dy++) for (let dx = 0; dx < 14; dx++) {
        const got = c.frames[3 * 32 * 32 + (y + dy) * 32 + x + dx];
        assert.ok(Math.abs(got - want[dy * 14 + dx]) < 1e-6, `clip ${i} pixel (${dx}, ${dy})`);
      }
      // and nothing else is lit
      let total = 0, digitSum = 0;
      for (let j = 3 * 1024; j < 4 * 1024; j++) total += c.frames[j];
      for (const v of want) digitSum += v;
      assert.ok(Math.abs(total - digitSum) < 1e-3);
    }
  }
});

test("the digit moves in its labelled direction, speeding up or slowing down, inside the frame", () => {
  const ds = new data.MovingDigits("test", { ...roomy, limitDigits: 20 });
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const c = ds.clip(i);
    seen.add(`${c.direction}${c.speedsUp}`);
    const axis = c.direction < 2 ? 0 : 1, sign = c.direction % 2 === 0 ? 1 : -1;
    const steps = c.positions.slice(1).map((p, t) => sign * (p[axis] - c.positions[t][axis]));
    for (const p of c.positions) for (const v of p) assert.ok(v >= 0 && v <= 32 - 14, `clip ${i} stays inside the frame`);
    for (const p of c.positions) assert.equal(p[1 - axis], c.positions[0][1 - axis], `clip ${i} moves along one axis`);
    assert.ok(steps.every((s) => s >= 0), `clip ${i} moves ${data.DIRECTIONS[c.direction]}: ${steps}`);
    const firstHalf = steps.slice(0, 3).reduce((a, b) => a + b), lastHalf = steps.slice(-3).reduce((a, b) => a + b);
    assert.ok(c.speedsUp ? lastHalf > firstHalf + 3 : firstHalf > lastHalf + 3, `clip ${i} speedsUp=${c.speedsUp}: ${steps}`);
    const { labels } = ds.batch([i], "digit-direction");
    assert.equal(labels.data[0], c.digit * 4 + c.direction);
    assert.equal(ds.batch([i], "speed-change").labels.data[0], c.speedsUp ? 1 : 0);
  }
  assert.equal(seen.size, 8, "every direction with both speed changes");
  const b = ds.batch([0, 1, 2], "digit-direction");
  assert.deepEqual(b.videos.shape, [3, 8, 1, 32, 32]);
  // the default geometry: a full-size digit near the centre of a 32x32 frame, moving 4 px
  const def = new data.MovingDigits("test", { limitDigits: 20 });
  for (let i = 0; i < 100; i++) {
    const c = def.clip(i);
    const axis = c.direction < 2 ? 0 : 1, sign = c.direction % 2 === 0 ? 1 : -1;
    assert.equal(sign * (c.positions[7][axis] - c.positions[0][axis]), 4);
    const moves = c.positions.slice(1).map((p, t) => Math.abs(p[axis] - c.positions[t][axis]));
    const early = moves[0] + moves[1] + moves[2], late = moves[4] + moves[5] + moves[6];
    assert.ok(c.speedsUp ? late > early : early > late, `clip ${i}: ${moves}`);
    for (const p of c.positions) for (const v of p) assert.ok(v >= 0 && v <= 4);
  }
  assert.equal(data.movingDigitsClassName("digit-direction", 7 * 4 + 1), "7 moving left");
});

test("a clip played backwards is a clip of the opposite direction and speed change (a bag of frames sees no time)", () => {
  // a small frame so that the trajectories of each class are all drawn
  const ds = new data.MovingDigits("train", { limitDigits: 10, frameSize: 24, digitSize: 7 });
  const byClass = new Map<string, Set<string>>();
  for (let i = 0; i < 4000; i++) {
    const c = ds.clip(i);
    const key = `${c.direction}/${c.speedsUp}`;
    if (!byClass.has(key)) byClass.set(key, new Set());
    byClass.get(key)!.add(JSON.stringify(c.positions));
  }
  for (const dir of [0, 1, 2, 3]) for (const up of [true, false]) {
    const reversed = new Set([...byClass.get(`${dir}/${up}`)!].map((s) => JSON.stringify((JSON.parse(s) as number[][]).reverse())));
    const opposite = byClass.get(`${dir ^ 1}/${!up}`)!;
    assert.deepEqual([...reversed].sort(), [...opposite].sort(), `direction ${dir}, speedsUp ${up}`);
  }
});

test("bouncing digits (the original recipe) stay whole inside the frame and move", () => {
  const m = data.loadMnist("test", { limit: 5, normalize: false });
  const v = data.bouncingDigits(m.images, { numFrames: 30, frameSize: 48, numDigits: 1, speed: 4, generator: new Generator(3) });
  assert.deepEqual(v.shape, [30, 1, 48, 48]);
  const sums: number[] = [];
  for (let t = 0; t < 30; t++) {
    let s = 0;
    for (let j = t * 2304; j < (t + 1) * 2304; j++) s += v.data[j];
    sums.push(s);
  }
  // one digit, never clipped: every frame holds its full mass
  for (const s of sums) assert.ok(Math.abs(s - sums[0]) < 1e-3);
  assert.notDeepEqual(v.data.subarray(0, 2304), v.data.subarray(2304 * 29));
  assert.throws(() => data.bouncingDigits(m.images, { frameSize: 20 }), /frameSize 20 is smaller than a 28px digit/);
});

test("bad options are refused with the values named", () => {
  assert.throws(() => new data.MovingDigits("test", { digitSize: 10, limitDigits: 1 }), /digitSize must divide 28, got 10/);
  assert.throws(() => new data.MovingDigits("test", { numFrames: 2, limitDigits: 1 }), /numFrames must be an integer >= 3/);
  assert.throws(() => new data.MovingDigits("test", { ...roomy, frameSize: 20, limitDigits: 1 }), /a 14px digit moving 14px does not fit a 20x20 frame \(room 6px\)/);
  const ds = new data.MovingDigits("test", { limitDigits: 1 });
  assert.throws(() => ds.batch([0], "colour" as data.MovingDigitsLabel), /unknown label "colour"/);
  assert.throws(() => ds.clip(-1), /non-negative integer, got -1/);
});
