// Image files (sharp) and augmentation: decoding, resizing and normalising as the model's
// config says, the errors for a wrong channel count or a corrupt file, random shifts.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

import { data, Generator, tensor } from "../src/index.js";

const tmp = mkdtempSync(join(tmpdir(), "tsformer-images-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("PNG round trip: savePng then loadImage gives the same pixels, normalised per channel", async () => {
  // a 3-channel 5x7 image with distinct 8-bit levels
  const px = new Float32Array(3 * 5 * 7);
  for (let i = 0; i < px.length; i++) px[i] = ((i * 37) % 256) / 255;
  const path = join(tmp, "rgb.png");
  await data.savePng(path, px, 3, 5, 7);
  const d = await data.decodeImage(path);
  assert.deepEqual([d.width, d.height, d.channels], [7, 5, 3]);
  // no resize when the size is already right: loadImage returns CHW (x - mean) / std
  // (a 7x7 request of a 5x7 image would stretch, so check the decoded samples directly)
  for (let c = 0; c < 3; c++) for (let i = 0; i < 35; i++) assert.equal(d.data[i * 3 + c], Math.round(px[c * 35 + i] * 255));
  const sq = new Float32Array(3 * 6 * 6);
  for (let i = 0; i < sq.length; i++) sq[i] = ((i * 11) % 256) / 255;
  await data.savePng(join(tmp, "sq.png"), sq, 3, 6, 6);
  const mean = [0.5, 0.4, 0.3], std = [0.2, 0.25, 0.5];
  const t = await data.loadImage(join(tmp, "sq.png"), { imageSize: 6, numChannels: 3, mean, std });
  assert.deepEqual(t.shape, [1, 3, 6, 6]);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 36; i++) {
      const want = (Math.round(sq[c * 36 + i] * 255) / 255 - mean[c]) / std[c];
      assert.ok(Math.abs(t.data[c * 36 + i] - want) < 1e-5, `channel ${c} pixel ${i}`);
    }
  }
  // resizing a constant image keeps it constant; a batch stacks files
  await data.savePng(join(tmp, "flat.png"), new Float32Array(20 * 30).fill(0.6), 1, 20, 30);
  const b = await data.loadImages([join(tmp, "flat.png"), join(tmp, "flat.png")], { imageSize: 8, numChannels: 1, mean: [0], std: [1], invert: true });
  assert.deepEqual(b.shape, [2, 1, 8, 8]);
  for (const v of b.data) assert.ok(Math.abs(v - (1 - 153 / 255)) < 1e-5);
});

test("JPEG decodes; colour for a greyscale model is refused unless converted", async () => {
  const sharp = (await import("sharp")).default;
  const raw = Buffer.alloc(16 * 16 * 3);
  for (let i = 0; i < 256; i++) { raw[i * 3] = 200; raw[i * 3 + 1] = 50; raw[i * 3 + 2] = 10; }
  const jpg = join(tmp, "red.jpg");
  writeFileSync(jpg, await sharp(raw, { raw: { width: 16, height: 16, channels: 3 } }).jpeg({ quality: 95 }).toBuffer());
  const rgb = await data.loadImage(jpg, { imageSize: 4, numChannels: 3, mean: [0], std: [1] });
  assert.ok(Math.abs(rgb.data[0] - 200 / 255) < 0.03 && Math.abs(rgb.data[16] - 50 / 255) < 0.03 && Math.abs(rgb.data[32] - 10 / 255) < 0.03);
  await assert.rejects(data.loadImage(jpg, { imageSize: 28, numChannels: 1, mean: [0], std: [1] }),
    /image .*red\.jpg \(16x16\) has 3 channels \(RGB\), but the model takes 1 channel \(greyscale\)/);
  const grey = await data.loadImage(jpg, { imageSize: 4, numChannels: 1, mean: [0], std: [1], convert: true });
  // luma of (200, 50, 10): between the channels, about 0.2126 R + 0.7152 G + 0.0722 B in linear light
  assert.ok(grey.data[0] > 50 / 255 && grey.data[0] < 200 / 255);
});

test("a corrupt or missing image is an error naming the file", async () => {
  const bad = join(tmp, "corrupt.png");
  writeFileSync(bad, Buffer.from("\x89PNG\r\n\x1a\nthis is not really a png"));
  await assert.rejects(data.loadImage(bad, { imageSize: 28, numChannels: 1, mean: [0], std: [1] }), /cannot decode image .*corrupt\.png/);
  await assert.rejects(data.loadImage(join(tmp, "nope.png"), { imageSize: 28, numChannels: 1, mean: [0], std: [1] }), /cannot read image .*nope\.png/);
  await assert.rejects(data.loadImages([], { imageSize: 28, numChannels: 1, mean: [0], std: [1] }), /no image files/);
});

test("randomShift moves each image by its own offset within +-max, filling with the background", () => {
  const B = 64, H = 6, W = 5;
  const x = tensor(Float32Array.from({ length: B * 2 * H * W }, (_, i) => i + 1), [B, 2, H, W]);
  const y = data.randomShift(x, 2, { fill: -1, generator: new Generator(3) });
  const seen = new Set<string>();
  for (let b = 0; b < B; b++) {
    // find the offset that explains the output: out(y, x) = in(y - dy, x - dx) or fill
    let found: string | null = null;
    for (let dy = -2; dy <= 2 && !found; dy++) {
      for (let dx = -2; dx <= 2 && !found; dx++) {
        let ok = true;
        for (let c = 0; c < 2 && ok; c++) {
          for (let r = 0; r < H && ok; r++) {
            for (let q = 0; q < W && ok; q++) {
              const sr = r - dy, sq = q - dx;
              const want = sr >= 0 && sr < H && sq >= 0 && sq < W ? x.data[((b * 2 + c) * H + sr) * W + sq] : -1;
              ok = y.data[((b * 2 + c) * H + r) * W + q] === want;
            }
          }
        }
        if (ok) found = `${dy},${dx}`;
      }
    }
    assert.ok(found, `image ${b} is not a shift of the input`);
    seen.add(found);
  }
  assert.ok(seen.size >= 15, `offsets should vary (saw ${seen.size} of 25)`);
  assert.deepEqual(Array.from(data.randomShift(x, 0).data), Array.from(x.data));
  assert.throws(() => data.randomShift(tensor([1, 2, 3]), 1), /expected float32 images \[B, C, H, W\], got float32 \[3\]/);
});

test("randomHorizontalFlip mirrors rows (p = 1) or leaves images alone (p = 0)", () => {
  const x = tensor(Float32Array.from({ length: 2 * 1 * 2 * 3 }, (_, i) => i), [2, 1, 2, 3]);
  assert.deepEqual(Array.from(data.randomHorizontalFlip(x, 1).data), [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9]);
  assert.deepEqual(Array.from(data.randomHorizontalFlip(x, 0).data), Array.from(x.data));
});
