// Attention over video: one heat map per frame. Video models (ViViT, TimeSformer) attend over
// tokens laid out [T, h, w] (time, patch rows, patch columns); given that map as a plain
// [T, h, w] array, each frame gets its own heat map, drawn as a strip of frames side by side and
// as an animated GIF.

import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { sharpLib } from "../data/images.js";
import { normalizeGrid, overlayHeatmap, tileImages, type Grid, type HeatmapOptions, type RGBImage } from "./image.js";

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

/** How a video model lays out its tokens: nt temporal indices of an h x w patch grid. */
export interface VideoTokenLayout {
  /** Temporal token indices (frames / tubelet depth). */
  nt: number;
  /** Patch grid rows and columns (ns = h * w spatial tokens per temporal index). */
  h: number;
  w: number;
}

/** What one recorded attention call covers, read from its shape. */
export type VideoAttentionKind = "joint" | "spatial" | "temporal";

/**
 * Classify an attention record [Bx, H, Tq, Tk] of a one-clip forward by the tokens it attends
 * over: "joint" (Bx = 1, Tk = nt*h*w (+ [CLS]): ViViT Model 1, TimeSformer joint), "spatial"
 * (Bx = nt, Tk = h*w (+ [CLS]): one frame's patches, as in ViViT Models 2-4 and TimeSformer's
 * divided and space-only blocks), or "temporal" (keys are time steps only: no spatial map).
 * prefix is the number of [CLS] tokens before the patches (0 or 1).
 */
export function classifyVideoAttention(weights: { shape: readonly number[] }, layout: VideoTokenLayout): { kind: VideoAttentionKind; prefix: number } {
  const [Bx, , , Tk] = weights.shape, ns = layout.h * layout.w, nt = layout.nt;
  if (Bx === 1 && (Tk === nt * ns || Tk === nt * ns + 1) && nt * ns > 1) return { kind: "joint", prefix: Tk - nt * ns };
  if (Bx === nt && (Tk === ns || Tk === ns + 1)) return { kind: "spatial", prefix: Tk - ns };
  if (Tk === nt || Tk === nt + 1) return { kind: "temporal", prefix: Tk - nt };
  throw new RangeError(`classifyVideoAttention: attention ${formatShape(weights.shape)} fits neither ${nt}x${layout.h}x${layout.w} space-time tokens, ${nt} frames of ${ns} patches, nor ${nt} time steps`);
}

/**
 * The map a video attention matrix [Bx, H?, Tq, Tk] (one layer's weights with heads, or a
 * rollout [Bx, T, T]) puts on the space-time tokens, as [nt, h, w]: with a [CLS] token its row
 * (what the classifier reads, as for images); without one (ViViT Models 3 and 4 mean-pool
 * every token) the mean over the queries, which is how much each token's value enters the
 * pooled output of that layer. Heads are averaged, or one head is taken.
 */
export function videoTokenMap(weights: { data: ArrayLike<number>; shape: readonly number[] }, layout: VideoTokenLayout, options: { head?: number | "mean" } = {}): { data: Float32Array; shape: [number, number, number] } {
  const w4 = weights.shape.length === 4 ? weights.shape : [weights.shape[0], 1, weights.shape[1], weights.shape[2]];
  const [Bx, H, Tq, Tk] = w4;
  const { kind, prefix } = classifyVideoAttention({ shape: w4 }, layout);
  if (kind === "temporal") throw new RangeError(`videoTokenMap: attention ${formatShape(weights.shape)} is over time steps only, it has no spatial map`);
  const head = weights.shape.length === 3 ? 0 : options.head ?? "mean";
  if (head !== "mean" && !(Number.isInteger(head) && head >= 0 && head < H)) throw new RangeError(`videoTokenMap: head ${head} out of range [0, ${H})`);
  const heads = head === "mean" ? Array.from({ length: H }, (_, i) => i) : [head];
  const n = Tk - prefix, { nt, h, w } = layout;
  const out = new Float32Array(nt * h * w);
  // joint: one batch row covers all nt*h*w tokens; spatial: batch row b is temporal index b
  for (let b = 0; b < Bx; b++) {
    const base = kind === "joint" ? 0 : b * n;
    for (const hd of heads) {
      const queries = prefix ? [0] : Array.from({ length: Tq }, (_, i) => i);
      for (const q of queries) {
        const o = ((b * H + hd) * Tq + q) * Tk + prefix;
        for (let j = 0; j < n; j++) out[base + j] += weights.data[o + j] / (heads.length * queries.length);
      }
    }
  }
  return { data: out, shape: [nt, h, w] };
}

/** Frame t of the clip shows temporal token floor(t / tubeletDepth): [nt, h, w] -> [T, h, w]. */
export function tokenMapToFrames(map: { data: Float32Array; shape: [number, number, number] }, numFrames: number, tubeletDepth = 1): { data: Float32Array; shape: [number, number, number] } {
  const [nt, h, w] = map.shape;
  if (Math.ceil(numFrames / tubeletDepth) !== nt && Math.floor(numFrames / tubeletDepth) !== nt) {
    throw new RangeError(`tokenMapToFrames: ${numFrames} frames in tubelets of ${tubeletDepth} do not make ${nt} temporal tokens`);
  }
  const out = new Float32Array(numFrames * h * w);
  for (let t = 0; t < numFrames; t++) {
    const i = Math.min(nt - 1, Math.floor(t / tubeletDepth));
    out.set(map.data.subarray(i * h * w, (i + 1) * h * w), t * h * w);
  }
  return { data: out, shape: [numFrames, h, w] };
}
