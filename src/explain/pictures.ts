// From one input to the pictures: record a forward pass, then draw the [CLS] token's attention
// per layer (head mean and every head), the rollout and the gradient-weighted relevance over
// an image; or every layer's and head's token-by-token matrix for text.

import type { Module } from "../nn/module.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { formatShape } from "../tensor/shape.js";
import { recordAttention, type AttentionRecord } from "./capture.js";
import { gradientAttention } from "./grad-attention.js";
import {
  encodePng, overlayHeatmap, resizeNearest, tileImages, tokenAttentionGrid, type Grid, type RGBImage,
} from "./image.js";
import { attentionRollout, type RolloutOptions } from "./rollout.js";
import { attentionMatrixSvg } from "./svg.js";

/** One picture: a file name, a caption, and its bytes (PNG) or text (SVG). */
export interface Picture {
  name: string;
  title: string;
  png?: Buffer;
  svg?: string;
}

export interface ImageExplainOptions {
  /** Logits from the input (default: model.forward(x).logits or model.forward(x) if a Tensor). */
  forward?: (x: Tensor) => Tensor | { logits: Tensor };
  /** Tokens before the patches (default 1: [CLS]). */
  prefixTokens?: number;
  /** Patch grid [rows, cols] (default square). */
  grid?: [number, number];
  /** Side of the pictures in pixels (default 224; small inputs are scaled up, nearest). */
  size?: number;
  /** Class names. */
  labels?: readonly string[];
  /** Also compute gradient-weighted attention (default true; needs a backward pass). */
  gradient?: boolean;
  /** Head fusion and discard ratio of the rollout. */
  rollout?: RolloutOptions;
}

export interface ImageExplanation {
  predicted: number;
  label: string;
  probabilities: number[];
  attentions: AttentionRecord[];
  /** Per layer: the [CLS] row over the patches, head mean, then each head. */
  layers: { mean: Grid; heads: Grid[] }[];
  rollout: Grid;
  gradient: Grid | null;
  pictures: Picture[];
}

function softmaxRow(v: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(v));
  const e = Array.from(v, (x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

function logitsOf(out: Tensor | { logits: Tensor }): Tensor {
  return out instanceof Tensor ? out : out.logits;
}

/**
 * Explain an image classifier (ViT-like: a prefix [CLS] token, then the patches) on one input
 * x [1, C, H, W] shown as `image`: prediction, attention grids and pictures.
 */
export async function explainImage(model: Module, x: Tensor, image: RGBImage, options: ImageExplainOptions = {}): Promise<ImageExplanation> {
  if (x.ndim !== 4 || x.shape[0] !== 1) throw new RangeError(`explainImage: input must be one image [1, C, H, W], got ${formatShape(x.shape)}`);
  const forward = options.forward ?? ((t: Tensor) => (model as unknown as { forward(t: Tensor): Tensor | { logits: Tensor } }).forward(t));
  const prefix = options.prefixTokens ?? 1;
  const { output, attentions } = noGrad(() => recordAttention(model, () => forward(x)));
  const logits = logitsOf(output);
  if (attentions.length === 0) throw new Error("explainImage: the model made no attention call");
  const probabilities = softmaxRow(logits.data);
  const predicted = probabilities.indexOf(Math.max(...probabilities));
  const label = options.labels?.[predicted] ?? String(predicted);
  const gridOpts = { prefixTokens: prefix, grid: options.grid };
  const layers = attentions.map((a) => ({
    mean: tokenAttentionGrid(a.weights, { ...gridOpts, head: "mean" }),
    heads: Array.from({ length: a.weights.shape[1] }, (_, h) => tokenAttentionGrid(a.weights, { ...gridOpts, head: h })),
  }));
  const rollout = tokenAttentionGrid(attentionRollout(attentions, options.rollout), gridOpts);
  let gradient: Grid | null = null;
  if (options.gradient ?? true) {
    const g = gradientAttention(model, () => forward(x), { target: predicted });
    if (g.relevance) gradient = tokenAttentionGrid(g.relevance, gridOpts);
  }
  const size = options.size ?? 224;
  const shown = image.width === size && image.height === size ? image : resizeNearest(image, size, size);
  const pictures: Picture[] = [{ name: "input.png", title: `input (predicted ${label}, p = ${probabilities[predicted].toFixed(3)})`, png: await encodePng(shown) }];
  for (const [l, layer] of layers.entries()) {
    pictures.push({ name: `layer${l}-mean.png`, title: `layer ${l}: [CLS] attention, mean of ${layer.heads.length} heads`, png: await encodePng(overlayHeatmap(shown, layer.mean)) });
    const small = Math.max(64, Math.round(size / 2));
    const base = resizeNearest(shown, small, small);
    pictures.push({ name: `layer${l}-heads.png`, title: `layer ${l}: [CLS] attention of each head (left to right, top to bottom)`, png: await encodePng(tileImages(layer.heads.map((g) => overlayHeatmap(base, g)))) });
  }
  pictures.push({ name: "rollout.png", title: "attention rollout (Abnar & Zuidema 2020), [CLS] row", png: await encodePng(overlayHeatmap(shown, rollout)) });
  if (gradient) pictures.push({ name: "gradient.png", title: `gradient-weighted attention (Chefer et al. 2021) for class ${label}`, png: await encodePng(overlayHeatmap(shown, gradient)) });
  return { predicted, label, probabilities, attentions, layers, rollout, gradient, pictures };
}

/**
 * Token-by-token matrices (SVG) for every recorded call: the head mean and each head, with
 * the query tokens down the side and the key tokens along the top (Bahdanau's alignment plot
 * for cross-attention, source along the top). tokensFor maps a record to its labels.
 */
export function textAttentionPictures(attentions: readonly AttentionRecord[], tokensFor: (r: AttentionRecord, index: number) => { queries: readonly string[]; keys: readonly string[] }, options: { batch?: number; heads?: boolean } = {}): Picture[] {
  const b = options.batch ?? 0;
  const out: Picture[] = [];
  attentions.forEach((r, idx) => {
    const [, H, Tq, Tk] = r.weights.shape;
    const { queries, keys } = tokensFor(r, idx);
    const mean = new Float32Array(Tq * Tk);
    const head = (h: number) => r.weights.data.subarray(((b * H + h) * Tq) * Tk, ((b * H + h) * Tq + Tq) * Tk);
    for (let h = 0; h < H; h++) head(h).forEach((v, i) => (mean[i] += v / H));
    const where = r.module || `call ${idx}`;
    out.push({ name: `attn${idx}-mean.svg`, title: `${where}: mean of ${H} heads`, svg: attentionMatrixSvg(mean, Tq, Tk, { rowLabels: queries, colLabels: keys, title: `${where} (mean)` }) });
    if (options.heads ?? true) {
      for (let h = 0; h < H; h++) {
        out.push({ name: `attn${idx}-head${h}.svg`, title: `${where}: head ${h}`, svg: attentionMatrixSvg(head(h), Tq, Tk, { rowLabels: queries, colLabels: keys, title: `${where} head ${h}` }) });
      }
    }
  });
  return out;
}
