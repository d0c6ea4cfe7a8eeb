// Images from files for the image models: PNG, JPEG (and whatever else sharp decodes: GIF,
// WebP, TIFF) decoded by sharp (libvips, prebuilt per platform, installs offline), resized to
// the model's size, scaled to [0, 1] and standardised per channel with the model's mean and std,
// laid out as pixel values [N, C, H, W] (what Hugging Face's image processors produce).

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { Tensor } from "../tensor/tensor.js";

export interface ImagePreprocessOptions {
  /** Output side: images are resized to imageSize x imageSize. */
  imageSize: number;
  /** 1 (greyscale) or 3 (RGB). */
  numChannels: number;
  /** Per-channel mean and std of the [0, 1] values (one entry, or one per channel). */
  mean: number[];
  std: number[];
  /**
   * An image whose channel count differs from numChannels (an RGB photo for a greyscale model)
   * is an error unless convert is set; then it is converted (luma for grey, replicated grey for RGB).
   */
  convert?: boolean;
  /** 1 - value before standardising (dark digits on white paper for a model trained on MNIST's white on black). */
  invert?: boolean;
}

export interface DecodedImage {
  /** Interleaved 8-bit samples, row-major, `channels` per pixel (alpha removed). */
  data: Uint8Array;
  width: number;
  height: number;
  /** Colour channels in the file (alpha not counted). */
  channels: number;
}

function describeChannels(n: number): string {
  return n === 1 ? "1 channel (greyscale)" : n === 3 ? "3 channels (RGB)" : `${n} channels`;
}

type SharpFn = typeof import("sharp").default;
let sharpModule: SharpFn | null = null;

/**
 * sharp, loaded on first use: importing it costs 2 MB of the JavaScript heap, which every full
 * garbage collection then marks again (a tenth of a small model's training step spent marking),
 * and most programs that import tsformer never decode an image.
 */
export async function sharpLib(): Promise<SharpFn> {
  if (!sharpModule) sharpModule = (await import("sharp")).default;
  return sharpModule;
}

/** Decode an image file (or bytes) without resizing; errors name the file. */
export async function decodeImage(input: string | Uint8Array, source = typeof input === "string" ? input : "<buffer>"): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = typeof input === "string" ? readFileSync(input) : input;
  } catch (e) {
    throw new Error(`cannot read image ${source}: ${(e as Error).message}`);
  }
  const sharp = await sharpLib();
  try {
    const img = sharp(bytes, { failOn: "error" });
    const meta = await img.metadata();
    const colour = (meta.channels ?? 0) - (meta.hasAlpha ? 1 : 0);
    let p = img.flatten({ background: "#000000" });
    if (colour === 1) p = p.greyscale();
    const { data, info } = await p.raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels };
  } catch (e) {
    throw new Error(`cannot decode image ${source}: ${(e as Error).message} (PNG, JPEG, GIF, WebP and TIFF are supported)`);
  }
}

/** One image file -> pixel values [1, C, S, S] as the options say. */
export async function loadImage(path: string, o: ImagePreprocessOptions): Promise<Tensor> {
  const { imageSize: S, numChannels: C } = o;
  if (C !== 1 && C !== 3) throw new RangeError(`loadImage: numChannels must be 1 or 3, got ${C}`);
  if (o.mean.length !== 1 && o.mean.length !== C || o.std.length !== 1 && o.std.length !== C) {
    throw new RangeError(`loadImage: mean and std need 1 or ${C} entries, got ${o.mean.length} and ${o.std.length}`);
  }
  const decoded = await decodeImage(path);
  if (decoded.channels !== C && !o.convert) {
    throw new Error(`image ${path} (${decoded.width}x${decoded.height}) has ${describeChannels(decoded.channels)}, but the model takes ` +
      `${describeChannels(C)}; convert it first (or pass --convert to convert while loading)`);
  }
  const sharp = await sharpLib();
  let pipeline = sharp(readFileSync(path)).flatten({ background: "#000000" });
  pipeline = C === 1 ? pipeline.greyscale() : pipeline.toColourspace("srgb");
  // HF's processors resize to the exact size (no aspect ratio kept); bilinear-type kernel
  const { data, info } = await pipeline.resize(S, S, { fit: "fill", kernel: "linear" }).raw().toBuffer({ resolveWithObject: true });
  const stride = info.channels;
  if (stride < C) throw new Error(`image ${path}: decoded to ${stride} channels, need ${C}`);
  const out = new Float32Array(C * S * S);
  for (let c = 0; c < C; c++) {
    const mean = o.mean[o.mean.length === 1 ? 0 : c], std = o.std[o.std.length === 1 ? 0 : c];
    for (let i = 0; i < S * S; i++) {
      let v = data[i * stride + c] / 255;
      if (o.invert) v = 1 - v;
      out[c * S * S + i] = (v - mean) / std; // interleaved HWC -> planar CHW
    }
  }
  return new Tensor(out, [1, C, S, S]);
}

/** Many files -> one batch [N, C, S, S]. */
export async function loadImages(paths: string[], o: ImagePreprocessOptions): Promise<Tensor> {
  if (paths.length === 0) throw new RangeError("loadImages: no image files given");
  const each = await Promise.all(paths.map((p) => loadImage(p, o)));
  const n = each[0].numel;
  const out = new Float32Array(paths.length * n);
  each.forEach((t, i) => out.set(t.data as Float32Array, i * n));
  return new Tensor(out, [paths.length, ...each[0].shape.slice(1)]);
}

/** Write an 8-bit image (e.g. an MNIST digit) to a PNG file: [C, H, W] values in [0, 1]. */
export async function savePng(path: string, pixels: Float32Array, channels: number, height: number, width: number): Promise<void> {
  const raw = Buffer.alloc(channels * height * width);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < height * width; i++) raw[i * channels + c] = Math.round(255 * Math.min(1, Math.max(0, pixels[c * height * width + i])));
  }
  const sharp = await sharpLib();
  let img = sharp(raw, { raw: { width, height, channels: channels as 1 | 3 } });
  if (channels === 1) img = img.toColourspace("b-w");
  const png = await img.png().toBuffer();
  const tmp = `${path}.tmp-${process.pid}`; // temp + rename: a crash never leaves half a file
  writeFileSync(tmp, png);
  renameSync(tmp, path);
}
