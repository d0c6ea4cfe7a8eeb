// Attention of a video classifier (a checkpoint of `tsformer train video`) on one clip, mapped
// back to the frames: for each attention call that sees space (ViViT Model 1's and TimeSformer
// joint's space-time tokens, or one frame's patches in the factorised models), the [CLS] row (or
// the mean over queries for the mean-pooled ViViT Models 3 and 4) laid on the nt x h x w token
// grid, then each frame shows its temporal token (a tubelet of depth t covers t frames). Rollout
// (Abnar & Zuidema 2020) runs over the calls that see space: the whole network for the joint
// models, the spatial calls only for the factorised ones (their temporal calls mix frames, which a
// per-frame map cannot show; the report says so).

import { loadVideoClip } from "../data/video.js";
import {
  attentionRollout, gradientAttention, encodeGif, encodePng, recordAttention, tensorToImage, resizeNearest, videoHeatmaps, videoStrip,
  classifyVideoAttention, videoTokenMap, tokenMapToFrames,
  type AttentionRecord, type Picture, type RGBImage, type RolloutOptions, type VideoTokenLayout,
} from "../explain/index.js";
import { softmax } from "../ops/functional.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { loadVideoCheckpoint, videoInputNeeds, type VideoCheckpointMeta, type VideoClassifier, type VideoModelSpec } from "../tasks/video-classification.js";

export interface VideoModel {
  kind: "video";
  dir: string;
  model: VideoClassifier;
  spec: VideoModelSpec;
  meta: VideoCheckpointMeta;
  labels: string[];
  /** What a clip must become: frames, frame size, channels, tubelet depth, patch size. */
  need: ReturnType<typeof videoInputNeeds>;
  layout: VideoTokenLayout;
}

/** Load a `train video` checkpoint for explaining; the CNN + Transformer has no patches to map. */
export function loadVideoExplainable(dir: string): VideoModel {
  const { model, spec, meta } = loadVideoCheckpoint(dir);
  if (spec.family === "cnn-transformer") {
    throw new Error(`--model ${dir}: a cnn-transformer attends over whole frames only (a CNN summarises each frame first), so it has no attention over patches to map; explain a ViViT or TimeSformer checkpoint`);
  }
  const need = videoInputNeeds(spec);
  const side = need.imageSize / need.patchSize;
  const layout = { nt: Math.floor(need.numFrames / need.tubeletDepth), h: side, w: side };
  return { kind: "video", dir, model, spec, meta, labels: meta.classNames, need, layout };
}

export interface VideoLayerMap {
  module: string;
  kind: "joint" | "spatial" | "temporal";
  /** Per frame [T, h, w], head mean, then each head (absent for temporal-only calls). */
  mean?: { data: Float32Array; shape: [number, number, number] };
  heads?: { data: Float32Array; shape: [number, number, number] }[];
}

export interface VideoExplanation {
  predicted: number;
  label: string;
  probabilities: number[];
  numFrames: number;
  /** Input frames as pixels (the model's size). */
  frames: RGBImage[];
  layers: VideoLayerMap[];
  /** Rollout mapped to frames [T, h, w], and over which calls it ran. */
  rollout: { data: Float32Array; shape: [number, number, number] };
  rolloutOver: "all layers" | "spatial attention";
  /**
   * Gradient-weighted attention (Chefer et al. 2021) mapped to frames, for the models whose every
   * call is joint space-time attention (ViViT 1, TimeSformer joint); null for the factorised
   * ones, whose relevance rollout would mix temporal and spatial stacks, and when not asked for.
   */
  gradient: { data: Float32Array; shape: [number, number, number] } | null;
  pictures: Picture[];
  /** Strip and GIF of rollout, gradient, each layer's head mean and each of its heads, for the explorer. */
  strips: { name: string; title: string; strip: Buffer; gif: Buffer }[];
}

/** Decode a clip file, classify it, and draw its attention per frame. */
export async function explainVideoFile(m: VideoModel, path: string, options: { rollout?: RolloutOptions; size?: number; gradient?: boolean } = {}): Promise<VideoExplanation> {
  const n = m.need;
  // errors name the file: undecodable, too few frames, frames that do not divide into patches
  const clip = loadVideoClip(path, { numFrames: n.numFrames, imageSize: n.imageSize, numChannels: n.numChannels, tubeletDepth: n.tubeletDepth, patchSize: n.patchSize });
  return explainVideoClip(m, clip, options);
}

/** The same for a clip tensor [1, T, C, S, S] already at the model's size. */
export async function explainVideoClip(m: VideoModel, clip: Tensor, options: { rollout?: RolloutOptions; size?: number; gradient?: boolean } = {}): Promise<VideoExplanation> {
  const { output, attentions } = noGrad(() => recordAttention(m.model, () => m.model.forward(clip)));
  const p = Array.from(noGrad(() => softmax(output.logits, -1)).data);
  const predicted = p.indexOf(Math.max(...p));
  const T = clip.shape[1], depth = m.need.tubeletDepth;
  const toFrames = (map: { data: Float32Array; shape: [number, number, number] }) => tokenMapToFrames(map, T, depth);
  const layers: VideoLayerMap[] = attentions.map((r) => {
    const { kind } = classifyVideoAttention(r.weights, m.layout);
    if (kind === "temporal") return { module: r.module, kind };
    const H = r.weights.shape[1];
    return {
      module: r.module, kind,
      mean: toFrames(videoTokenMap(r.weights, m.layout)),
      heads: Array.from({ length: H }, (_, h) => toFrames(videoTokenMap(r.weights, m.layout, { head: h }))),
    };
  });
  const joint = attentions.filter((_, i) => layers[i].kind === "joint");
  const spatial = attentions.filter((_, i) => layers[i].kind === "spatial");
  const over: AttentionRecord[] = joint.length > 0 ? joint : spatial;
  if (over.length === 0) throw new Error(`explain video: ${m.dir} recorded no attention over patches`);
  const rollout = toFrames(videoTokenMap(attentionRollout(over, options.rollout), m.layout));
  const rolloutOver = joint.length > 0 && spatial.length === 0 ? "all layers" : "spatial attention";
  let gradient: VideoExplanation["gradient"] = null;
  if ((options.gradient ?? true) && layers.every((l) => l.kind === "joint")) {
    const g = gradientAttention(m.model, () => m.model.forward(clip), { target: predicted });
    if (g.relevance) gradient = toFrames(videoTokenMap(g.relevance, m.layout));
  }

  const size = options.size ?? Math.max(96, m.need.imageSize);
  const [C, S] = [clip.shape[2], clip.shape[3]];
  const per = C * S * S;
  const frames = Array.from({ length: T }, (_, t) => tensorToImage(new Tensor((clip.data as Float32Array).slice(t * per, (t + 1) * per), [C, S, S])));
  const big = frames.map((f) => resizeNearest(f, size, size));
  const strips: VideoExplanation["strips"] = [];
  const draw = async (name: string, title: string, map: { data: Float32Array; shape: [number, number, number] }) => {
    const heat = videoHeatmaps(big, map);
    strips.push({ name, title, strip: await encodePng(videoStrip(heat)), gif: await encodeGif(heat) });
  };
  await draw("rollout", `rollout over ${rolloutOver} (${options.rollout?.headFusion ?? "mean"} of heads)`, rollout);
  if (gradient) await draw("gradient", "gradient-weighted attention (Chefer et al. 2021), predicted class", gradient);
  for (const [i, l] of layers.entries()) {
    if (!l.mean) continue;
    await draw(`attn${i}`, `${l.module} (${l.kind}), mean of heads`, l.mean);
    // each head too (the explorer's view picker lists them), when there is more than one
    if (l.heads && l.heads.length > 1) {
      for (const [h, map] of l.heads.entries()) await draw(`attn${i}-head${h}`, `${l.module} (${l.kind}), head ${h}`, map);
    }
  }
  const pictures: Picture[] = [{ name: "frames.png", title: `input: ${T} frames`, png: await encodePng(videoStrip(big)) }];
  for (const s of strips) {
    pictures.push({ name: `${s.name}-strip.png`, title: s.title, png: s.strip });
    pictures.push({ name: `${s.name}.gif`, title: `${s.title}, animated`, png: s.gif });
  }
  return { predicted, label: m.labels[predicted] ?? String(predicted), probabilities: p, numFrames: T, frames, layers, rollout, rolloutOver, gradient, pictures, strips };
}

/** The explanation as JSON for the explorer: prediction, strips and GIFs as data URLs, maps. */
export function videoExplanationJson(m: VideoModel, e: VideoExplanation): unknown {
  const top = e.probabilities.map((p, i) => ({ label: m.labels[i] ?? String(i), p })).sort((a, b) => b.p - a.p).slice(0, 5);
  const map = (x: { data: Float32Array; shape: number[] }) => ({ shape: x.shape, data: Array.from(x.data, (v) => Number(v.toPrecision(5))) });
  return {
    kind: "video",
    predicted: e.predicted,
    label: e.label,
    top,
    numFrames: e.numFrames,
    rolloutOver: e.rolloutOver,
    rollout: map(e.rollout),
    layers: e.layers.map((l) => ({ module: l.module, kind: l.kind, mean: l.mean ? map(l.mean) : null })),
    views: e.strips.map((s) => ({ name: s.name, title: s.title, strip: `data:image/png;base64,${s.strip.toString("base64")}`, gif: `data:image/gif;base64,${s.gif.toString("base64")}` })),
  };
}
