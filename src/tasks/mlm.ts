// Masked-language-model pretraining (BERT, Devlin et al. 2019, §3.1 Task #1 and Appendix
// A.1): choose 15% of the token positions at random; of those, replace 80% with [MASK], 10%
// with a random token and leave 10% unchanged; predict the original token at exactly the
// chosen positions (the others are ignored by the loss).

import "../backend/js/index.js";
import "../backend/native/index.js";
import "../ops/index.js";
import type { Tokenizer } from "../data/tokenizers/tokenizer.js";
import { BertForMaskedLM, type BertConfig } from "../models/bert.js";
import { crossEntropy } from "../ops/loss.js";
import { indexSelect, reshape } from "../ops/shape.js";
import { Generator, manualSeed } from "../tensor/random.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { tidy } from "../tensor/tidy.js";
import { AdamW } from "../train/optim/adam.js";
import { clipGradNorm } from "../train/optim/clip.js";
import { weightDecayGroups } from "../train/optim/optimizer.js";
import { LRScheduler, warmupLinearSchedule } from "../train/optim/schedules.js";
import { ProgressBar } from "../train/progress.js";

/** The label of positions the loss ignores (PyTorch's and Hugging Face's convention). */
export const IGNORE = -100;

export interface MaskingOptions {
  /** Fraction of (non-special) positions chosen for prediction; BERT: 0.15. */
  maskProb?: number;
  maskId: number;
  vocabSize: number;
  /** Ids that are never chosen and never drawn as random replacements ([CLS], [SEP], [PAD], ...). */
  specialIds: readonly number[];
}

/**
 * ids int32 [B, T] -> { inputIds, labels }: labels hold the original id at chosen positions and
 * IGNORE elsewhere; inputIds have the 80/10/10 replacements applied.
 */
export function maskTokens(ids: Tensor, o: MaskingOptions, g: Generator): { inputIds: Tensor; labels: Tensor } {
  const p = o.maskProb ?? 0.15;
  const special = new Set(o.specialIds);
  const src = ids.data as Int32Array;
  const input = src.slice(), labels = new Int32Array(src.length).fill(IGNORE);
  for (let i = 0; i < src.length; i++) {
    if (special.has(src[i]) || g.random() >= p) continue;
    labels[i] = src[i];
    const r = g.random();
    if (r < 0.8) input[i] = o.maskId; // 80%: [MASK]
    else if (r < 0.9) {
      let t: number; // 10%: a random ordinary token
      do t = g.randint(0, o.vocabSize); while (special.has(t));
      input[i] = t;
    } // 10%: unchanged, so the model cannot assume the observed token is wrong
  }
  return { inputIds: new Tensor(input, ids.shape), labels: new Tensor(labels, ids.shape) };
}

export interface EncodedBatch {
  ids: Tensor; // [B, T]
  attentionMask: Tensor; // [B, T]
}

/** [CLS] + up to T-2 ids + [SEP], padded to the longest in the batch. */
export function padBatch(seqs: readonly number[][], tok: Tokenizer, maxLen: number): EncodedBatch {
  const { cls, sep, pad } = tok.specials;
  if (cls === undefined || sep === undefined || pad === undefined) throw new Error(`padBatch: the tokenizer needs [CLS], [SEP] and [PAD] tokens`);
  const rows = seqs.map((s) => [cls, ...s.slice(0, maxLen - 2), sep]);
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T).fill(pad), mask = new Int32Array(rows.length * T);
  rows.forEach((r, b) => {
    ids.set(r, b * T);
    mask.fill(1, b * T, b * T + r.length);
  });
  return { ids: new Tensor(ids, [rows.length, T]), attentionMask: new Tensor(mask, [rows.length, T]) };
}

/** A corpus as token chunks of at most maxLen - 2 (room for [CLS] and [SEP]), one or more per text. */
export function chunkTexts(texts: readonly string[], tok: Tokenizer, maxLen: number, maxChunksPerText = 4): number[][] {
  const out: number[][] = [];
  const n = maxLen - 2;
  for (const t of texts) {
    const ids = tok.encode(t, { addSpecialTokens: false });
    for (let s = 0, k = 0; s < ids.length && k < maxChunksPerText; s += n, k++) {
      const c = ids.slice(s, s + n);
      if (c.length >= 8) out.push(c);
    }
  }
  return out;
}

export interface PretrainOptions {
  steps: number;
  batchSize?: number;
  maxLen?: number;
  lr?: number;
  seed?: number;
  progress?: boolean;
  log?: (s: string) => void;
}

export interface MLMEval {
  loss: number;
  /** Share of the chosen positions whose original token is the top prediction. */
  accuracy: number;
  predictions: number;
}

/**
 * Logits [N, V] at the N chosen positions only, and their labels [N]. The loss ignores every
 * other position, so projecting only these onto the vocabulary gives the same loss as the full
 * [B, T, V] logits at about maskProb of the cost of the output layer.
 */
export function maskedLogits(model: BertForMaskedLM, inputIds: Tensor, labels: Tensor, attentionMask: Tensor): { logits: Tensor; targets: Tensor } {
  const h = model.bert.forward(inputIds, { attentionMask }).lastHiddenState; // [B, T, D]
  const D = h.shape[2];
  const rows: number[] = [], targets: number[] = [];
  labels.data.forEach((l, i) => {
    if (l !== IGNORE) {
      rows.push(i);
      targets.push(l);
    }
  });
  const picked = indexSelect(reshape(h, [-1, D]), 0, new Tensor(Int32Array.from(rows), [rows.length])); // [N, D]
  return { logits: model.cls.predictions.forward(picked, model.bert.embeddings.word_embeddings.weight), targets: new Tensor(Int32Array.from(targets), [targets.length]) };
}

function specialIds(tok: Tokenizer): number[] {
  return Object.values(tok.specials).filter((x): x is number => x !== undefined);
}

/** Masked-LM loss and accuracy on held-out chunks (fixed masks from a fixed seed). */
export function evaluateMLM(model: BertForMaskedLM, chunks: readonly number[][], tok: Tokenizer, maxLen = 128, seed = 1234): MLMEval {
  const g = new Generator(seed);
  let nll = 0, correct = 0, n = 0;
  const was = model.training;
  model.eval();
  noGrad(() => {
    for (let i = 0; i < chunks.length; i += 64) {
      const b = padBatch(chunks.slice(i, i + 64), tok, maxLen);
      const { inputIds, labels } = maskTokens(b.ids, { maskId: tok.specials.mask!, vocabSize: model.config.vocabSize, specialIds: specialIds(tok) }, g);
      const { logits, targets } = maskedLogits(model, inputIds, labels, b.attentionMask);
      if (targets.numel === 0) continue;
      const V = logits.shape[1];
      nll += crossEntropy(logits, targets, { reduction: "sum" }).item();
      const L = targets.data, d = logits.data;
      for (let p = 0; p < L.length; p++) {
        let best = 0;
        for (let j = 1; j < V; j++) if (d[p * V + j] > d[p * V + best]) best = j;
        if (best === L[p]) correct++;
        n++;
      }
    }
  });
  model.train(was);
  return { loss: nll / Math.max(1, n), accuracy: correct / Math.max(1, n), predictions: n };
}

/** Pretrain BERT with the masked-LM objective on token chunks; returns the per-step losses. */
export function pretrainMLM(config: BertConfig, chunks: readonly number[][], tok: Tokenizer, o: PretrainOptions): { model: BertForMaskedLM; losses: number[]; seconds: number } {
  if (chunks.length === 0) throw new RangeError("pretrainMLM: no training text");
  if (tok.specials.mask === undefined) throw new Error("pretrainMLM: the tokenizer has no [MASK] token");
  manualSeed(o.seed ?? 0);
  const g = new Generator(o.seed ?? 0);
  const model = new BertForMaskedLM(config);
  model.train();
  const B = o.batchSize ?? 32, maxLen = o.maxLen ?? 128;
  // Appendix A.2: Adam with weight decay 0.01, linear warmup then linear decay
  const opt = new AdamW(weightDecayGroups(model, 0.01), { lr: o.lr ?? 1e-3, betas: [0.9, 0.999], eps: 1e-6 });
  const sched = new LRScheduler(opt, warmupLinearSchedule(Math.max(1, Math.round(0.06 * o.steps)), o.steps));
  const bar = new ProgressBar({ quiet: !o.progress, unit: "tok/s" });
  bar.begin(o.steps, "pretrain bert (MLM)");
  const losses: number[] = [];
  const t0 = performance.now();
  const masking = { maskId: tok.specials.mask, vocabSize: config.vocabSize, specialIds: specialIds(tok) };
  for (let step = 1; step <= o.steps; step++) {
    const picks = Array.from({ length: B }, () => chunks[g.randint(0, chunks.length)]);
    const b = padBatch(picks, tok, maxLen);
    const { inputIds, labels } = maskTokens(b.ids, masking, g);
    const l = tidy(() => {
      const { logits, targets } = maskedLogits(model, inputIds, labels, b.attentionMask);
      if (targets.numel === 0) return null; // (a tiny batch can draw no position at all)
      const loss = crossEntropy(logits, targets);
      opt.zeroGrad();
      loss.backward();
      clipGradNorm(model.parameters(), 1);
      opt.step();
      return loss.item();
    });
    if (l === null) continue;
    sched.step();
    losses.push(l);
    bar.tick(b.ids.numel, l);
    if (o.log && step % Math.max(1, Math.round(o.steps / 10)) === 0) {
      const recent = losses.slice(-Math.max(1, Math.round(o.steps / 10)));
      o.log(`MLM step ${step}/${o.steps}: loss ${(recent.reduce((a, c) => a + c, 0) / recent.length).toFixed(3)}`);
    }
  }
  bar.end();
  model.eval();
  return { model, losses, seconds: (performance.now() - t0) / 1000 };
}
