// Sequence classification with BERT (Devlin et al. 2019, §4.1): a linear layer on the pooled
// [CLS] state, all weights fine-tuned. The spam story: pretrain with the masked LM on the
// unlabelled training emails, then fine-tune on a few labelled ones, against the same model
// trained from scratch with the same budget (the paper's claim, and ULMFiT's, that
// pretraining pays most when labels are few).

import "../backend/js/index.js";
import "../backend/native/index.js";
import "../ops/index.js";
import { spamAssassin, type Email } from "../data/corpora.js";
import type { Tokenizer } from "../data/tokenizers/tokenizer.js";
import { WordPiece } from "../data/tokenizers/wordpiece.js";
import { BertForMaskedLM, BertForSequenceClassification, bertConfig, type BertConfig } from "../models/bert.js";
import { crossEntropy } from "../ops/loss.js";
import { Generator, manualSeed } from "../tensor/random.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { tidy } from "../tensor/tidy.js";
import { AdamW } from "../train/optim/adam.js";
import { clipGradNorm } from "../train/optim/clip.js";
import { weightDecayGroups } from "../train/optim/optimizer.js";
import { LRScheduler, warmupLinearSchedule } from "../train/optim/schedules.js";
import { ProgressBar } from "../train/progress.js";
import { chunkTexts, evaluateMLM, padBatch, pretrainMLM } from "./mlm.js";

export interface BinaryMetrics {
  accuracy: number;
  /** Of the positive class (spam). */
  precision: number;
  recall: number;
  f1: number;
  n: number;
}

/** Accuracy, and precision / recall / F1 of the positive class (label 1). */
export function binaryMetrics(predicted: readonly number[], actual: readonly number[]): BinaryMetrics {
  if (predicted.length !== actual.length) throw new RangeError(`binaryMetrics: ${predicted.length} predictions for ${actual.length} labels`);
  let tp = 0, fp = 0, fn = 0, correct = 0;
  for (let i = 0; i < actual.length; i++) {
    if (predicted[i] === actual[i]) correct++;
    if (predicted[i] === 1 && actual[i] === 1) tp++;
    else if (predicted[i] === 1) fp++;
    else if (actual[i] === 1) fn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0, recall = tp + fn ? tp / (tp + fn) : 0;
  return { accuracy: correct / Math.max(1, actual.length), precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, n: actual.length };
}

export interface FinetuneOptions {
  steps: number;
  batchSize?: number;
  maxLen?: number;
  lr?: number;
  seed?: number;
  /** Start from these weights (a BertForMaskedLM's state dict: its bert.* part is used). */
  pretrained?: BertForMaskedLM | null;
  progress?: boolean;
}

/** Class predictions for texts. */
export function classify(model: BertForSequenceClassification, texts: readonly string[], tok: Tokenizer, maxLen = 128): number[] {
  const out: number[] = [];
  const was = model.training;
  model.eval();
  noGrad(() => {
    for (let i = 0; i < texts.length; i += 64) {
      const b = padBatch(texts.slice(i, i + 64).map((t) => tok.encode(t, { addSpecialTokens: false })), tok, maxLen);
      const logits = model.forward(b.ids, { attentionMask: b.attentionMask }).logits; // [B, C]
      const C = logits.shape[1];
      for (let r = 0; r < logits.shape[0]; r++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (logits.data[r * C + c] > logits.data[r * C + best]) best = c;
        out.push(best);
      }
    }
  });
  model.train(was);
  return out;
}

/** Fine-tune (or train from scratch) a classifier for a fixed number of steps over the examples. */
export function finetuneClassifier(config: BertConfig, examples: readonly { text: string; label: number }[], tok: Tokenizer, o: FinetuneOptions):
  { model: BertForSequenceClassification; seconds: number; finalLoss: number } {
  if (examples.length === 0) throw new RangeError("finetuneClassifier: no labelled examples");
  manualSeed(o.seed ?? 0);
  const g = new Generator(o.seed ?? 0);
  const model = new BertForSequenceClassification(config);
  if (o.pretrained) {
    // as Hugging Face's from_pretrained on an MLM checkpoint: the encoder is loaded, the pooler and classifier start fresh
    const sd = Object.fromEntries(Object.entries(o.pretrained.stateDict()).filter(([k]) => k.startsWith("bert.")));
    model.loadStateDict(sd, { strict: false });
  }
  model.train();
  const maxLen = o.maxLen ?? 128, B = Math.min(o.batchSize ?? 32, examples.length);
  const encoded = examples.map((e) => tok.encode(e.text, { addSpecialTokens: false }).slice(0, maxLen - 2));
  // §4 / Appendix A.3: Adam, small learning rate, linear decay with warmup
  const opt = new AdamW(weightDecayGroups(model, 0.01), { lr: o.lr ?? 1e-3, betas: [0.9, 0.999], eps: 1e-6 });
  const sched = new LRScheduler(opt, warmupLinearSchedule(Math.max(1, Math.round(0.1 * o.steps)), o.steps));
  const bar = new ProgressBar({ quiet: !o.progress, unit: "ex/s" });
  bar.begin(o.steps, o.pretrained ? "fine-tune" : "from scratch");
  let order = Array.from(g.permutation(examples.length)), pos = 0, last = 0;
  const t0 = performance.now();
  for (let step = 1; step <= o.steps; step++) {
    const idx: number[] = [];
    while (idx.length < B) {
      if (pos === order.length) {
        order = Array.from(g.permutation(examples.length)); // the next epoch over the labelled set
        pos = 0;
      }
      idx.push(order[pos++]);
    }
    const b = padBatch(idx.map((i) => encoded[i]), tok, maxLen);
    last = tidy(() => {
      const logits = model.forward(b.ids, { attentionMask: b.attentionMask }).logits;
      const loss = crossEntropy(logits, new Tensor(Int32Array.from(idx.map((i) => examples[i].label)), [B]));
      opt.zeroGrad();
      loss.backward();
      clipGradNorm(model.parameters(), 1);
      opt.step();
      return loss.item();
    });
    sched.step();
    bar.tick(B, last);
  }
  bar.end();
  model.eval();
  return { model, seconds: (performance.now() - t0) / 1000, finalLoss: last };
}

/** A fixed, class-stratified subset of n examples (the same for every run with the same seed). */
export function labelledSubset(train: readonly Email[], n: number, seed = 0): Email[] {
  if (n >= train.length) return [...train];
  const g = new Generator(seed);
  const spam = train.filter((e) => e.label === 1), ham = train.filter((e) => e.label === 0);
  const nSpam = Math.round((n * spam.length) / train.length);
  const pick = (xs: Email[], k: number): Email[] => Array.from(g.permutation(xs.length)).slice(0, k).map((i) => xs[i]);
  return [...pick(spam, nSpam), ...pick(ham, n - nSpam)];
}

export interface SpamStoryOptions {
  /** BERT preset and overrides (vocabSize comes from the tokenizer). */
  preset?: string;
  config?: Partial<BertConfig>;
  vocabSize?: number;
  maxLen?: number;
  /** Masked-LM steps; 0 skips pretraining and runs only the from-scratch arm. */
  pretrainSteps: number;
  /** Fine-tune this already pretrained model (and its tokenizer) instead of pretraining. */
  from?: { model: BertForMaskedLM; tokenizer: WordPiece } | null;
  /** Which arms to run (default both). */
  arms?: ("pretrained" | "scratch")[];
  finetuneSteps: number;
  /** Labelled-set sizes to compare at (Infinity = the whole training split). */
  sizes: number[];
  batchSize?: number;
  pretrainLr?: number;
  finetuneLr?: number;
  scratchLr?: number;
  /** Evaluate on at most this many test emails (default all). */
  testLimit?: number;
  seed?: number;
  progress?: boolean;
  log?: (s: string) => void;
}

export interface SpamStoryResult {
  config: BertConfig;
  parameters: number;
  split: { train: number; test: number; trainSpam: number; testSpam: number };
  pretrain: { steps: number; seconds: number; finalLoss: number; heldOut: { loss: number; accuracy: number } } | null;
  rows: { labelled: number; pretrained: (BinaryMetrics & { seconds: number }) | null; scratch: (BinaryMetrics & { seconds: number }) | null }[];
  tokenizer: WordPiece;
  pretrained: BertForMaskedLM | null;
}

/** Tokenizer and MLM on the unlabelled training emails; then, per size, fine-tuned vs from scratch on the test emails. */
export function runSpamStory(o: SpamStoryOptions): SpamStoryResult {
  const log = o.log ?? ((): void => {});
  const { train, test: fullTest } = spamAssassin();
  const test = o.testLimit ? labelledSubset(fullTest, o.testLimit, 99) : fullTest;
  const maxLen = o.maxLen ?? 64;
  // e-mail has a long tail of one-off strings (addresses, ids, encodings): learn pieces from
  // words seen twice or more, over the 150 most frequent characters
  const tok = o.from?.tokenizer ?? WordPiece.train(train.map((e) => e.text), { vocabSize: o.vocabSize ?? 3000, minWordFrequency: 2, limitAlphabet: 150 });
  const config = o.from ? { ...o.from.model.config, numLabels: 2 }
    : bertConfig(o.preset ?? "bert-tiny", { maxPositionEmbeddings: maxLen, hiddenDropoutProb: 0.1, ...o.config, vocabSize: tok.vocabSize, numLabels: 2 });
  log(`SpamAssassin: ${train.length} training emails (${train.filter((e) => e.label).length} spam), ${test.length} test emails; WordPiece vocabulary ${tok.vocabSize}`);
  // pretraining sees only the training emails' text, never a label and never a test email
  const chunks = chunkTexts(train.map((e) => e.text), tok, maxLen);
  const heldOut = chunkTexts(test.slice(0, 300).map((e) => e.text), tok, maxLen, 1);
  let pretrain: SpamStoryResult["pretrain"] = null, preModel: BertForMaskedLM | null = o.from?.model ?? null;
  if (!o.from && o.pretrainSteps > 0) {
    const pre = pretrainMLM(config, chunks, tok, { steps: o.pretrainSteps, batchSize: o.batchSize ?? 32, maxLen, lr: o.pretrainLr ?? 1e-3, seed: o.seed, progress: o.progress, log });
    const mlmEval = evaluateMLM(pre.model, heldOut, tok, maxLen);
    const tail = pre.losses.slice(-Math.max(1, Math.round(o.pretrainSteps / 10)));
    log(`MLM pretraining: ${o.pretrainSteps} steps on ${chunks.length} chunks in ${pre.seconds.toFixed(0)} s; held-out masked-token accuracy ${(100 * mlmEval.accuracy).toFixed(1)}%`);
    pretrain = { steps: o.pretrainSteps, seconds: pre.seconds, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, heldOut: { loss: mlmEval.loss, accuracy: mlmEval.accuracy } };
    preModel = pre.model;
  }
  const rows: SpamStoryResult["rows"] = [];
  const labels = test.map((e) => e.label);
  for (const size of o.sizes) {
    const subset = labelledSubset(train, size, o.seed ?? 0);
    const run = (pretrained: BertForMaskedLM | null, lr: number): BinaryMetrics & { seconds: number } => {
      const r = finetuneClassifier(config, subset, tok, { steps: o.finetuneSteps, batchSize: o.batchSize ?? 32, maxLen, lr, seed: o.seed, pretrained, progress: o.progress });
      return { ...binaryMetrics(classify(r.model, test.map((e) => e.text), tok, maxLen), labels), seconds: r.seconds };
    };
    const arms = o.arms ?? ["pretrained", "scratch"];
    const p = preModel && arms.includes("pretrained") ? run(preModel, o.finetuneLr ?? 3e-4) : null;
    const s = arms.includes("scratch") ? run(null, o.scratchLr ?? o.finetuneLr ?? 3e-4) : null;
    rows.push({ labelled: subset.length, pretrained: p, scratch: s });
    log(`${subset.length} labelled: ${p ? `fine-tuned accuracy ${(100 * p.accuracy).toFixed(1)}% F1 ${p.f1.toFixed(3)} ` : ""}${s ? `from scratch accuracy ${(100 * s.accuracy).toFixed(1)}% F1 ${s.f1.toFixed(3)}` : ""}`);
  }
  return {
    config, parameters: new BertForSequenceClassification(config).numParameters(),
    split: { train: train.length, test: test.length, trainSpam: train.filter((e) => e.label).length, testSpam: test.filter((e) => e.label).length },
    pretrain, rows, tokenizer: tok, pretrained: preModel,
  };
}
