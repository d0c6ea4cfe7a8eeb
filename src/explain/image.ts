// Heat maps over images: the attention of one token (ViT's [CLS], row 0) to the image patches,
// laid back on the patch grid, coloured, and drawn over the input. Pure pixel arithmetic on
// RGB byte arrays; sharp only encodes and decodes (loaded on first use, so importing the
// library does not load it).

import { sharpLib } from "../data/images.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";

/** 8-bit RGB pixels, row-major, 3 bytes per pixel. */
export interface RGBImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A map over a grid of cells (image patches): rows x cols values, row-major. */
export interface Grid {
  rows: number;
  cols: number;
  data: Float32Array;
}

export interface TokenAttentionOptions {
  /** Batch row (default 0). */
  batch?: number;
  /** A head index, or "mean" over heads (default). Ignored for [B, T, T] maps (rollout). */
  head?: number | "mean";
  /** The query token whose attention is shown (default 0, the [CLS] token). */
  query?: number;
  /** Tokens before the patches ([CLS], distillation tokens), skipped (default 1). */
  prefixTokens?: number;
  /** Patch grid [rows, cols]; default square from the number of patch tokens. */
  grid?: [number, number];
}

/**
 * One query token's attention to the patch tokens, as a grid. weights are one layer's
 * [B, H, T, T] or a fused / rollout [B, T, T].
 */
export function tokenAttentionGrid(weights: Tensor, options: TokenAttentionOptions = {}): Grid {
  const b = options.batch ?? 0, query = options.query ?? 0, prefix = options.prefixTokens ?? 1;
  let B: number, H: number, Tq: number, Tk: number;
  if (weights.ndim === 4) [B, H, Tq, Tk] = weights.shape;
  else if (weights.ndim === 3) { [B, Tq, Tk] = weights.shape; H = 1; }
  else throw new RangeError(`tokenAttentionGrid: weights must be [B, H, T, T] or [B, T, T], got ${formatShape(weights.shape)}`);
  const n = Tk - prefix;
  const [rows, cols] = options.grid ?? [Math.round(Math.sqrt(n)), Math.round(Math.sqrt(n))];
  if (rows * cols !== n) throw new RangeError(`tokenAttentionGrid: ${n} patch tokens (${Tk} keys - ${prefix} prefix) do not fill a ${rows}x${cols} grid`);
  if (b < 0 || b >= B) throw new RangeError(`tokenAttentionGrid: batch ${b} out of range [0, ${B})`);
  if (query < 0 || query >= Tq) throw new RangeError(`tokenAttentionGrid: query ${query} out of range [0, ${Tq})`);
  const head = weights.ndim === 3 ? 0 : options.head ?? "mean";
  if (head !== "mean" && !(Number.isInteger(head) && head >= 0 && head < H)) throw new RangeError(`tokenAttentionGrid: head ${head} out of range [0, ${H})`);
  const heads = head === "mean" ? Array.from({ length: H }, (_, h) => h) : [head];
  const data = new Float32Array(n);
  for (const h of heads) {
    const o = ((b * H + h) * Tq + query) * Tk + prefix;
    for (let j = 0; j < n; j++) data[j] += weights.data[o + j] / heads.length;
  }
  return { rows, cols, data };
}

// viridis (matplotlib), 9 stops: perceptually uniform, lightness rises from 0 to 1
const VIRIDIS = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** Colour of v in [0, 1] (clamped) on viridis. */
export function viridis(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - i;
  const a = VIRIDIS[i], c = VIRIDIS[i + 1];
  return [Math.round(a[0] + f * (c[0] - a[0])), Math.round(a[1] + f * (c[1] - a[1])), Math.round(a[2] + f * (c[2] - a[2]))];
}

/** Min-max scale to [0, 1] (a constant map becomes all 0). */
export function normalizeGrid(g: Grid): Grid {
  let lo = Infinity, hi = -Infinity;
  for (const v of g.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi - lo;
  return { rows: g.rows, cols: g.cols, data: g.data.map((v) => (span > 0 ? (v - lo) / span : 0)) };
}

export interface HeatmapOptions {
  /** "bilinear" (default; smooth, peaks at patch centres) or "nearest" (one block per patch). */
  interpolation?: "bilinear" | "nearest";
  /** Scale the map to [0, 1] first (default true). */
  normalize?: boolean;
}

/** Sample the grid at pixel (x, y) of a width x height image. */
function sample(g: Grid, x: number, y: number, width: number, height: number, nearest: boolean): number {
  const { rows, cols, data } = g;
  if (nearest) {
    const r = Math.min(rows - 1, Math.floor((y * rows) / height)), c = Math.min(cols - 1, Math.floor((x * cols) / width));
    return data[r * cols + c];
  }
  // patch centres sit at ((c + 0.5) * width / cols); clamp outside the outermost centres
  const fy = Math.min(rows - 1, Math.max(0, ((y + 0.5) * rows) / height - 0.5));
  const fx = Math.min(cols - 1, Math.max(0, ((x + 0.5) * cols) / width - 0.5));
  const r0 = Math.floor(fy), c0 = Math.floor(fx), r1 = Math.min(rows - 1, r0 + 1), c1 = Math.min(cols - 1, c0 + 1);
  const wy = fy - r0, wx = fx - c0;
  const top = data[r0 * cols + c0] * (1 - wx) + data[r0 * cols + c1] * wx;
  const bottom = data[r1 * cols + c0] * (1 - wx) + data[r1 * cols + c1] * wx;
  return top * (1 - wy) + bottom * wy;
}

/** The grid as a width x height viridis picture. */
export function heatmapImage(grid: Grid, width: number, height: number, options: HeatmapOptions = {}): RGBImage {
  const g = options.normalize ?? true ? normalizeGrid(grid) : grid;
  const nearest = options.interpolation === "nearest";
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, gg, b] = viridis(sample(g, x, y, width, height, nearest));
      const o = (y * width + x) * 3;
      data[o] = r; data[o + 1] = gg; data[o + 2] = b;
    }
  }
  return { width, height, data };
}

/** Blend the heat map over the image (alpha = weight of the heat map, default 0.6). */
export function overlayHeatmap(image: RGBImage, grid: Grid, options: HeatmapOptions & { alpha?: number } = {}): RGBImage {
  const alpha = options.alpha ?? 0.6;
  const heat = heatmapImage(grid, image.width, image.height, options);
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i += 3) {
    // the image in dimmed grey, so the colours read as the map's even over white strokes
    const grey = 0.6 * (0.299 * image.data[i] + 0.587 * image.data[i + 1] + 0.114 * image.data[i + 2]);
    for (let c = 0; c < 3; c++) data[i + c] = Math.round((1 - alpha) * grey + alpha * heat.data[i + c]);
  }
  return { width: image.width, height: image.height, data };
}

/** Nearest-neighbour resize (keeps the patch edges of tiny images such as 28x28 digits sharp). */
export function resizeNearest(image: RGBImage, width: number, height: number): RGBImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(image.height - 1, Math.floor((y * image.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(image.width - 1, Math.floor((x * image.width) / width));
      data.set(image.data.subarray((sy * image.width + sx) * 3, (sy * image.width + sx) * 3 + 3), (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

/** Images of one size side by side, `cols` per row, `pad` white pixels between. */
export function tileImages(images: readonly RGBImage[], options: { cols?: number; pad?: number } = {}): RGBImage {
  if (images.length === 0) throw new RangeError("tileImages: no images");
  const { width: w, height: h } = images[0];
  for (const [i, im] of images.entries()) {
    if (im.width !== w || im.height !== h) throw new RangeError(`tileImages: image ${i} is ${im.width}x${im.height}, image 0 is ${w}x${h}`);
  }
  const cols = Math.min(images.length, options.cols ?? Math.ceil(Math.sqrt(images.length)));
  const rows = Math.ceil(images.length / cols), pad = options.pad ?? 2;
  const W = cols * w + (cols - 1) * pad, H = rows * h + (rows - 1) * pad;
  const data = new Uint8Array(W * H * 3).fill(255);
  images.forEach((im, k) => {
    const ox = (k % cols) * (w + pad), oy = Math.floor(k / cols) * (h + pad);
    for (let y = 0; y < h; y++) data.set(im.data.subarray(y * w * 3, (y + 1) * w * 3), ((oy + y) * W + ox) * 3);
  });
  return { width: W, height: H, data };
}

/**
 * A model input [C, H, W] or [1, C, H, W] (1 or 3 channels) back to pixels:
 * value * std + mean, then 0..1 -> 0..255.
 */
export function tensorToImage(x: Tensor, options: { mean?: number[]; std?: number[] } = {}): RGBImage {
  const s = x.ndim === 4 && x.shape[0] === 1 ? x.shape.slice(1) : x.shape;
  if (s.length !== 3 || (s[0] !== 1 && s[0] !== 3)) throw new RangeError(`tensorToImage: expected [C, H, W] or [1, C, H, W] with 1 or 3 channels, got ${formatShape(x.shape)}`);
  const [C, H, W] = s;
  const data = new Uint8Array(H * W * 3);
  for (let c = 0; c < 3; c++) {
    const sc = C === 1 ? 0 : c, mean = options.mean?.[sc] ?? 0, std = options.std?.[sc] ?? 1;
    for (let i = 0; i < H * W; i++) data[i * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, x.data[sc * H * W + i] * std + mean)));
  }
  return { width: W, height: H, data };
}

/** PNG bytes of an RGB image. */
export async function encodePng(image: RGBImage): Promise<Buffer> {
  const sharp = await sharpLib();
  return sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length), { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
}

/** PNG bytes of an SVG document (rendered by sharp's librsvg). */
export async function svgToPng(svg: string): Promise<Buffer> {
  const sharp = await sharpLib();
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/**
 * Decode an image file's bytes (PNG, JPEG, GIF, WebP, ...) to RGB, resized to width x height
 * if given. Errors name what is wrong: not an image, or empty.
 */
export async function decodeImage(bytes: Uint8Array, options: { width?: number; height?: number; what?: string } = {}): Promise<RGBImage> {
  const what = options.what ?? "image";
  if (bytes.length === 0) throw new Error(`${what} is empty`);
  const sharp = await sharpLib();
  try {
    let s = sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), { failOn: "error" }).flatten({ background: "#ffffff" }).removeAlpha().toColourspace("srgb");
    if (options.width && options.height) s = s.resize(options.width, options.height, { fit: "fill" });
    const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    throw new Error(`${what} could not be decoded as an image (PNG, JPEG, GIF or WebP): ${(e as Error).message}`);
  }
}

/**
 * An RGB image as model input [1, C, H, W] with C = 1 (grey) or 3:
 * (pixel / 255 - mean) / std per channel.
 */
export function imageToInput(image: RGBImage, channels: number, options: { mean?: number[]; std?: number[] } = {}): { data: Float32Array; shape: number[] } {
  if (channels !== 1 && channels !== 3) throw new RangeError(`imageToInput: models with ${channels} channels are not supported (1 or 3)`);
  const n = image.width * image.height;
  const data = new Float32Array(channels * n);
  for (let i = 0; i < n; i++) {
    const r = image.data[i * 3], g = image.data[i * 3 + 1], b = image.data[i * 3 + 2];
    if (channels === 1) data[i] = ((0.299 * r + 0.587 * g + 0.114 * b) / 255 - (options.mean?.[0] ?? 0)) / (options.std?.[0] ?? 1);
    else [r, g, b].forEach((v, c) => (data[c * n + i] = (v / 255 - (options.mean?.[c] ?? 0)) / (options.std?.[c] ?? 1)));
  }
  return { data, shape: [1, channels, image.height, image.width] };
}

