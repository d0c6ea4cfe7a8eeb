// Real video files through the packaged ffmpeg: clips that this ffmpeg generates (testsrc, and
// known frames written as MP4, WebM, AVI and GIF) decode to the right sizes, counts and pixels;
// uniform frame sampling; and clear errors for short clips, sizes that do not divide into
// patches, undecodable and missing files.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { data, Tensor } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "tsformer-video-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** 6 frames of 32x24 RGB: frame t has a flat level (t+1)/8 in R, a horizontal ramp in G, 0.5 in B. */
function knownFrames(T = 6, W = 32, H = 24): Tensor {
  const d = new Float32Array(T * 3 * H * W);
  for (let t = 0; t < T; t++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    d[((t * 3 + 0) * H + y) * W + x] = (t + 1) / 8;
    d[((t * 3 + 1) * H + y) * W + x] = x / (W - 1);
    d[((t * 3 + 2) * H + y) * W + x] = 0.5;
  }
  return new Tensor(d, [T, 3, H, W]);
}

function meanAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

test("ffmpeg's testsrc clips decode: size, frame count, frame rate and colour bars", () => {
  const ff = data.ffmpegPath();
  for (const ext of ["mp4", "webm", "avi", "gif"]) {
    const path = join(dir, `testsrc.${ext}`);
    const r = spawnSync(ff, ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "1", ...(ext === "mp4" ? ["-pix_fmt", "yuv420p"] : []), path]);
    assert.equal(r.status, 0, r.stderr?.toString());
    const info = data.probeVideo(path);
    assert.equal(info.width, 64);
    assert.equal(info.height, 48);
    assert.equal(info.fps, 10, ext);
    const { frames } = data.decodeVideo(path);
    assert.deepEqual(frames.shape, [10, 3, 48, 64], ext);
    // testsrc's colour bars differ across the width: the frame is not flat
    let lo = 1, hi = 0;
    for (const v of frames.data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    assert.ok(hi - lo > 0.5, `${ext} has contrast`);
    const small = data.decodeVideo(path, { size: 16, gray: true, maxFrames: 4 });
    assert.deepEqual(small.frames.shape, [4, 1, 16, 16]);
  }
});

test("known frames survive MP4, WebM (lossless), AVI and GIF", () => {
  const frames = knownFrames();
  for (const [ext, tol] of [["webm", 1 / 255], ["mp4", 0.03], ["avi", 0.03], ["gif", 0.04]] as const) {
    const path = join(dir, `known.${ext}`);
    data.encodeVideo(path, frames, 5);
    const back = data.decodeVideo(path).frames;
    assert.deepEqual(back.shape, frames.shape, ext);
    const err = meanAbs(back.data, frames.data);
    assert.ok(err <= tol, `${ext}: mean |error| ${err} > ${tol}`);
  }
});

test("uniform frame sampling picks evenly spaced frames", () => {
  assert.deepEqual(data.sampleFrameIndices(16, 4), [2, 6, 10, 14]);
  assert.deepEqual(data.sampleFrameIndices(6, 3), [1, 3, 5]);
  assert.deepEqual(data.sampleFrameIndices(3, 6), [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(data.sampleFrameIndices(5, 1), [2]);
  assert.throws(() => data.sampleFrameIndices(0, 2), /total must be a positive integer, got 0/);
  // a file through loadVideoClip: frame t has red level (t+1)/8
  const path = join(dir, "known-lossless.webm");
  data.encodeVideo(path, knownFrames(), 5);
  const clip = data.loadVideoClip(path, { numFrames: 3, imageSize: 16, numChannels: 3, tubeletDepth: 2, patchSize: 8 });
  assert.deepEqual(clip.shape, [1, 3, 3, 16, 16]);
  for (const [i, t] of [1, 3, 5].entries()) assert.ok(Math.abs(clip.data[i * 3 * 256] - (t + 1) / 8) < 0.01, `sampled frame ${i} is frame ${t}`);
  const gray = data.loadVideoClip(path, { numFrames: 2, numChannels: 1 });
  assert.deepEqual(gray.shape, [1, 2, 1, 24, 32]);
});

test("short clips, frames that do not divide into patches, undecodable and missing files are refused by name", () => {
  const one = join(dir, "one-frame.gif");
  data.encodeVideo(one, knownFrames(1), 5);
  assert.throws(() => data.loadVideoClip(one, { numFrames: 8, imageSize: 16, numChannels: 3, tubeletDepth: 2 }),
    new RegExp(`${one.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} has 1 frame, fewer than the tubelet depth 2`));
  const odd = join(dir, "odd.avi");
  data.encodeVideo(odd, knownFrames(4, 30, 20), 5);
  assert.throws(() => data.loadVideoClip(odd, { numFrames: 4, numChannels: 3, patchSize: 8 }), /odd\.avi has frames of 30x20, which do not divide into 8x8 patches/);
  const junk = join(dir, "junk.mp4");
  writeFileSync(junk, "this is not a video");
  assert.throws(() => data.decodeVideo(junk), /ffmpeg cannot decode .*junk\.mp4: .*Invalid data/);
  assert.throws(() => data.decodeVideo(join(dir, "nope.mp4")), /no such file .*nope\.mp4/);
  const text = join(dir, "words.gif");
  writeFileSync(text, "GIF89a but not really");
  assert.throws(() => data.decodeVideo(text), /ffmpeg cannot decode .*words\.gif/);
  assert.throws(() => data.encodeVideo(join(dir, "x.mkv"), knownFrames(1)), /extension must be \.mp4, \.webm, \.avi or \.gif/);
});
