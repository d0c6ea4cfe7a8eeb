// What `tsformer attention` and `tsformer serve` can explain: a checkpoint directory holding
// an image classifier (ViTForImageClassification), a video classifier (`tsformer train video`:
// ViViT or TimeSformer, see explain-video.ts) or a text model (a G2P seq2seq checkpoint, or
// GPT-2 / BERT from `tsformer train gpt` / `train bert`, see explain-text.ts),
// loaded once, then asked about one input at a time.
//
// Image checkpoints: config.json's `config` is a ViTConfig (or holds one under `vit`, `model`
// or `config`); class names come from `labels` (array) or `id2label` (object) in the config
// or the meta; pixel normalisation from `imageMean` / `imageStd` (per channel, on 0..1 pixels),
// default none.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  decodeImage, explainImage, imageToInput, textAttentionPictures,
  type AttentionRecord, type ImageExplanation, type Picture, type RolloutOptions,
} from "../explain/index.js";
import { recordAttention } from "../explain/capture.js";
import { loadCheckpoint } from "../io/checkpoint.js";
import { ViTForImageClassification, type ViTConfig } from "../models/vit.js";
import { RnnAttentionSeq2Seq } from "../models/rnn-attention.js";
import { encodeWord, pronounce } from "../tasks/g2p.js";
import { loadG2PCheckpoint } from "../tasks/g2p-checkpoint.js";
import type { Seq2Seq } from "../tasks/seq2seq.js";
import type { G2PVocabs } from "../tasks/g2p.js";
import { BOS } from "../data/vocab.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { loadVideoExplainable, type VideoModel } from "./explain-video.js";
import { loadTextExplainable, type TransformerTextModel } from "./explain-text.js";

export interface ImageModel {
  kind: "image";
  dir: string;
  model: ViTForImageClassification;
  config: ViTConfig;
  labels: string[];
  mean?: number[];
  std?: number[];
}

export interface G2PModel {
  kind: "text";
  task: "g2p";
  dir: string;
  model: Seq2Seq;
  vocabs: G2PVocabs;
}

export type ExplainableModel = ImageModel | G2PModel | VideoModel | TransformerTextModel;

function isViTConfig(c: unknown): c is ViTConfig {
  const o = c as Record<string, unknown> | null;
  return !!o && typeof o === "object" && typeof o.imageSize === "number" && typeof o.patchSize === "number" &&
    typeof o.hiddenSize === "number" && typeof o.numAttentionHeads === "number" && typeof o.numLabels === "number";
}

function numbers(v: unknown): number[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === "number") ? v : undefined;
}

/** Load a checkpoint directory; the error says which kinds are understood. */
export function loadExplainable(dir: string): ExplainableModel {
  const cfgPath = join(dir, "config.json");
  if (!existsSync(cfgPath)) throw new Error(`--model ${dir}: no checkpoint there (${cfgPath} is missing)`);
  let raw: { config?: Record<string, unknown>; meta?: Record<string, unknown> | null };
  try {
    raw = JSON.parse(readFileSync(cfgPath, "utf8"));
  } catch (e) {
    throw new Error(`--model ${dir}: ${cfgPath} is not valid JSON: ${(e as Error).message}`);
  }
  const cfg = raw.config ?? {};
  // a checkpoint of `tsformer train video`: config.json's config is { family, config }
  if (typeof cfg.family === "string" && ["vivit", "timesformer", "cnn-transformer"].includes(cfg.family)) return loadVideoExplainable(dir);
  // `tsformer train gpt` and `tsformer train bert --out`: { kind, config, tokenizer }
  if (cfg.kind === "gpt2" || cfg.kind === "bert-mlm") return loadTextExplainable(dir, cfg.kind);
  if (cfg.task === "g2p") {
    const { model, vocabs } = loadG2PCheckpoint(dir);
    return { kind: "text", task: "g2p", dir, model, vocabs };
  }
  const vitCfg = [cfg, cfg.vit, cfg.model, cfg.config].find(isViTConfig);
  if (vitCfg) {
    const c = loadCheckpoint<Record<string, unknown>, Record<string, unknown>>(dir);
    const model = new ViTForImageClassification(vitCfg);
    const sd = c.stateDict;
    // accept weights saved from the classifier itself or under a "model." prefix
    const names = Object.keys(sd);
    const prefixed = names.length > 0 && names.every((n) => n.startsWith("model."));
    model.loadStateDict(prefixed ? Object.fromEntries(names.map((n) => [n.slice(6), sd[n]])) : sd);
    model.eval();
    const meta = c.meta ?? {};
    const find = (k: string) => cfg[k] ?? meta[k];
    let labels: string[] | undefined;
    const l = find("labels"), id2 = find("id2label");
    if (Array.isArray(l)) labels = l.map(String);
    else if (id2 && typeof id2 === "object") labels = Array.from({ length: vitCfg.numLabels }, (_, i) => String((id2 as Record<string, unknown>)[i] ?? i));
    labels ??= Array.from({ length: vitCfg.numLabels }, (_, i) => String(i));
    if (labels.length !== vitCfg.numLabels) throw new Error(`--model ${dir}: ${labels.length} labels for ${vitCfg.numLabels} classes`);
    return { kind: "image", dir, model, config: vitCfg, labels, mean: numbers(find("imageMean")), std: numbers(find("imageStd")) };
  }
  throw new Error(`--model ${dir}: ${cfgPath} holds neither a ViT image classifier (config with imageSize, patchSize, hiddenSize, numAttentionHeads, numLabels) nor a g2p checkpoint (task "g2p") nor a video classifier (family vivit or timesformer) nor a GPT-2 or BERT checkpoint (kind "gpt2" or "bert-mlm")`);
}

/** Decode an uploaded/opened image, resize it to the model's input and explain it. */
export async function explainImageBytes(m: ImageModel, bytes: Uint8Array, what: string, options: { gradient?: boolean; rollout?: RolloutOptions; size?: number } = {}): Promise<ImageExplanation & { image: { width: number; height: number } }> {
  const S = m.config.imageSize;
  const image = await decodeImage(bytes, { width: S, height: S, what });
  const input = imageToInput(image, m.config.numChannels, { mean: m.mean, std: m.std });
  const x = new Tensor(input.data, input.shape);
  const e = await explainImage(m.model, x, image, { labels: m.labels, gradient: options.gradient, rollout: options.rollout, size: options.size });
  return { ...e, image: { width: S, height: S } };
}

export interface TextExplanation {
  input: string;
  /** The model's answer (G2P: the phonemes). */
  output: string[];
  /** Labels of the source tokens, and of the tokens the decoder produces (output + </s>). */
  sourceTokens: string[];
  targetTokens: string[];
  /** Each recorded attention: what it is and its weights [H, Tq, Tk] as nested arrays. */
  layers: { module: string; role: "encoder" | "decoder" | "cross"; heads: number[][][]; queries: string[]; keys: string[] }[];
  pictures: Picture[];
}

/**
 * G2P: pronounce the word (greedy), then run the model teacher-forced on its own answer while
 * recording, so every attention call yields its full matrix: encoder self-attention over the
 * letters, decoder self-attention over the phonemes, and cross-attention from phonemes to
 * letters (the alignment of Bahdanau et al.).
 */
export function explainG2P(m: G2PModel, word: string): TextExplanation {
  const src = encodeWord(m.vocabs, word); // throws a clear error on characters it cannot spell
  const phonemes = pronounce(m.model, m.vocabs, [word])[0];
  const tgtIn = [BOS, ...m.vocabs.phonemes.encode(phonemes)];
  const letters = [...word.toLowerCase()];
  // Rows are labelled by the token each decoder position produces (Bahdanau et al.'s plots put
  // the generated word on the row); decoder self-attention's keys are the tokens fed in.
  const targetTokens = [...phonemes, "</s>"];
  const decoderInputs = ["<s>", ...phonemes];
  const srcT = new Tensor(Int32Array.from(src), [1, src.length]);
  const tgtT = new Tensor(Int32Array.from(tgtIn), [1, tgtIn.length]);
  let records: AttentionRecord[];
  const mod = m.model.module;
  if (mod instanceof RnnAttentionSeq2Seq) {
    // Bahdanau attention: the model returns its alignment alpha [B, T, S] itself
    const out = noGrad(() => mod.forward(srcT, tgtT, m.model.srcMask(srcT)));
    const [B, T, S] = out.attention.shape;
    records = [{ module: "attention", op: "additive", weights: new Tensor(out.attention.data, [B, 1, T, S]) }];
  } else {
    records = noGrad(() => recordAttention(mod, () => m.model.logits(srcT, tgtT))).attentions;
  }
  const label = (r: AttentionRecord) => {
    const [, , Tq, Tk] = r.weights.shape;
    // module paths of src/models/transformer.ts: encoder.N.selfAttn, decoder.N.selfAttn, decoder.N.crossAttn
    const role: "encoder" | "decoder" | "cross" = /cross/i.test(r.module) || r.module === "attention" ? "cross"
      : /decoder/i.test(r.module) ? "decoder" : "encoder";
    const queries = role === "encoder" ? letters : targetTokens;
    const keys = role === "decoder" ? decoderInputs : letters;
    if (queries.length !== Tq || keys.length !== Tk) {
      throw new Error(`explainG2P: attention ${r.module} is ${Tq}x${Tk}, expected ${queries.length}x${keys.length}`);
    }
    return { role, queries, keys };
  };
  const layers = records.map((r) => {
    const { role, queries, keys } = label(r);
    const [, H, Tq, Tk] = r.weights.shape;
    const heads = Array.from({ length: H }, (_, h) => Array.from({ length: Tq }, (_, i) =>
      Array.from(r.weights.data.subarray((h * Tq + i) * Tk, (h * Tq + i + 1) * Tk))));
    return { module: r.module, role, heads, queries, keys };
  });
  const pictures = textAttentionPictures(records, (r) => { const l = label(r); return { queries: l.queries, keys: l.keys }; });
  return { input: word, output: phonemes, sourceTokens: letters, targetTokens, layers, pictures };
}

/** The image explanation as JSON for the explorer: grids per layer and head, rollout, gradient. */
export function imageExplanationJson(m: ImageModel, e: ImageExplanation): unknown {
  const g = (x: { rows: number; cols: number; data: Float32Array }) => ({ rows: x.rows, cols: x.cols, data: Array.from(x.data, (v) => Number(v.toPrecision(5))) });
  const top = e.probabilities.map((p, i) => ({ label: m.labels[i], p })).sort((a, b) => b.p - a.p).slice(0, 5);
  return {
    kind: "image",
    predicted: e.predicted,
    label: e.label,
    top,
    layers: e.layers.map((l, i) => ({ module: e.attentions[i].module, mean: g(l.mean), heads: l.heads.map(g) })),
    rollout: g(e.rollout),
    gradient: e.gradient ? g(e.gradient) : null,
  };
}
