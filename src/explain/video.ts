// Attention over video: one heat map per frame. Video models (ViViT, TimeSformer) attend over
// tokens laid out [T, h, w] (time, patch rows, patch columns); given that map as a plain
// [T, h, w] array, each frame gets its own heat map, drawn as a strip of frames side by side and
// as an animated GIF.

import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { normalizeGrid, overlayHeatmap, sharpLib, tileImages, type Grid, type HeatmapOptions, type RGBImage } from "./image.js";

/** A [T, h, w] map (Tensor or flat values with its dims) as T grids. */
export function frameGrids(map: Tensor | { data: ArrayLike<number>; shape: readonly number[] }): Grid[] {
  if (map.shape.length !== 3) throw new RangeError(`frameGrids: the map must be [T, h, w], got ${formatShape(map.shape)}`);
  const [T, h, w] = map.shape;
  if (map.data.length !== T * h * w) throw new RangeError(`frameGrids: ${map.data.length} values for [${T}, ${h}, ${w}]`);
  return Array.from({ length: T }, (_, t) => ({ rows: h, cols: w, data: Float32Array.from({ length: h * w }, (_, i) => map.data[t * h * w + i]) }));
}

/**
 * Normalise the whole clip jointly (so frames compare: a frame the model ignores stays dark)
 * and overlay frame t's map on frame t.
 */
export function videoHeatmaps(frames: readonly RGBImage[], map: Tensor | { data: ArrayLike<number>; shape: readonly number[] }, options: HeatmapOptions & { alpha?: number } = {}): RGBImage[] {
  const grids = frameGrids(map);
  if (grids.length !== frames.length) throw new RangeError(`videoHeatmaps: ${frames.length} frames but the map has ${grids.length} time steps`);
  const { rows, cols } = grids[0];
  const joint = normalizeGrid({ rows: rows * grids.length, cols, data: Float32Array.from(grids.flatMap((g) => Array.from(g.data))) });
  return frames.map((f, t) => overlayHeatmap(f, { rows, cols, data: joint.data.subarray(t * rows * cols, (t + 1) * rows * cols) }, { ...options, normalize: false }));
}

/** Frames in one row (a film strip). */
export function videoStrip(frames: readonly RGBImage[], pad = 2): RGBImage {
  return tileImages(frames, { cols: frames.length, pad });
}

/** An animated GIF of the frames (same size), delayMs per frame, looping forever. */
export async function encodeGif(frames: readonly RGBImage[], options: { delayMs?: number } = {}): Promise<Buffer> {
  if (frames.length === 0) throw new RangeError("encodeGif: no frames");
  const { width, height } = frames[0];
  const all = new Uint8Array(width * height * 3 * frames.length);
  frames.forEach((f, t) => {
    if (f.width !== width || f.height !== height) throw new RangeError(`encodeGif: frame ${t} is ${f.width}x${f.height}, frame 0 is ${width}x${height}`);
    all.set(f.data, t * width * height * 3);
  });
  const sharp = await sharpLib();
  return sharp(Buffer.from(all.buffer), { raw: { width, height: height * frames.length, channels: 3, pageHeight: height } })
    .gif({ delay: frames.map(() => options.delayMs ?? 250), loop: 0 })
    .toBuffer();
}
