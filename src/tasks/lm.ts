// Language modelling with GPT-2 (Radford et al. 2019): learn p(next token | previous tokens)
// on a book and report the validation loss in bits per character, the measure of
// character-level models (Graves 2013): bits/char = total negative log-likelihood in nats /
// ln 2 / characters. Also saving and loading the model with its tokenizer.

import "../backend/js/index.js";
import "../backend/native/index.js";
import "../ops/index.js";
import { mobyDick, splitText } from "../data/corpora.js";
import { ByteLevelBPE } from "../data/tokenizers/bpe.js";
import { CharTokenizer } from "../data/tokenizers/char.js";
import { loadTokenizer, tokenizerFromJSON } from "../data/tokenizers/index.js";
import type { Tokenizer } from "../data/tokenizers/tokenizer.js";
import { loadCheckpoint, saveCheckpoint } from "../io/checkpoint.js";
import { GPT2LMHeadModel, gptConfig, type GPT2Config } from "../models/gpt.js";
import { crossEntropy } from "../ops/loss.js";
import { reshape } from "../ops/shape.js";
import { Generator, manualSeed } from "../tensor/random.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { tidy } from "../tensor/tidy.js";
import { AdamW } from "../train/optim/adam.js";
import { clipGradNorm } from "../train/optim/clip.js";
import { weightDecayGroups } from "../train/optim/optimizer.js";
import { LRScheduler, warmupCosineSchedule } from "../train/optim/schedules.js";
import { ProgressBar } from "../train/progress.js";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface LMOptions {
  /** The corpus (default: Moby Dick); the last valFraction is validation. */
  text?: string;
  valFraction?: number;
  tokenizer?: "char" | "bpe";
  /** BPE vocabulary size (trained on the training part). */
  bpeVocabSize?: number;
  /** GPT preset, and fields to replace (vocabSize is set from the tokenizer). */
  preset?: string;
  config?: Partial<GPT2Config>;
  steps: number;
  batchSize?: number;
  lr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  seed?: number;
  /** Evaluate on at most this many validation characters (default all). */
  evalChars?: number;
  /** Evaluate (and report) every N steps; default only at the end. */
  evalEvery?: number;
  progress?: boolean;
  log?: (s: string) => void;
}

export interface LMResult {
  model: GPT2LMHeadModel;
  tokenizer: Tokenizer;
  config: GPT2Config;
  parameters: number;
  /** Mean training loss (nats per token) over the last 10% of steps. */
  trainLoss: number;
  validation: { bitsPerChar: number; lossPerToken: number; tokens: number; chars: number };
  curve: { step: number; trainLoss: number; valBitsPerChar?: number }[];
  seconds: number;
  tokensPerSecond: number;
}

/** Mean NLL over non-overlapping windows of the context size: bits per character and nats per token. */
export function evaluateLM(model: GPT2LMHeadModel, ids: readonly number[], chars: number, batchSize = 16):
  { bitsPerChar: number; lossPerToken: number; tokens: number; chars: number } {
  const ctx = model.config.nPositions;
  const wasTraining = model.training;
  model.eval();
  let nats = 0, tokens = 0;
  noGrad(() => {
    const starts: number[] = [];
    for (let s = 0; s + 1 < ids.length; s += ctx) starts.push(s);
    for (let i = 0; i < starts.length; i += batchSize) {
      // windows of equal length per batch: the last, shorter window runs alone
      const group = starts.slice(i, i + batchSize);
      const lens = group.map((s) => Math.min(ctx, ids.length - 1 - s));
      const byLen = new Map<number, number[]>();
      group.forEach((s, k) => byLen.set(lens[k], [...(byLen.get(lens[k]) ?? []), s]));
      for (const [T, ss] of byLen) {
        const x = new Int32Array(ss.length * T), y = new Int32Array(ss.length * T);
        ss.forEach((s, b) => {
          for (let t = 0; t < T; t++) {
            x[b * T + t] = ids[s + t];
            y[b * T + t] = ids[s + t + 1];
          }
        });
        const logits = model.forward(new Tensor(x, [ss.length, T])).logits;
        const loss = crossEntropy(reshape(logits, [-1, logits.shape[2]]), new Tensor(y, [ss.length * T]), { reduction: "sum" });
        nats += loss.item();
        tokens += ss.length * T;
      }
    }
  });
  model.train(wasTraining);
  // the first token is never predicted; count the characters of the predicted tokens only
  const predictedChars = chars * (tokens / Math.max(1, ids.length));
  return { bitsPerChar: nats / Math.LN2 / predictedChars, lossPerToken: nats / tokens, tokens, chars: Math.round(predictedChars) };
}

/** Train a GPT on a text and evaluate it on the held-out end of the text. */
export function trainLM(o: LMOptions): LMResult {
  const log = o.log ?? ((): void => {});
  const text = o.text ?? mobyDick();
  const { train, validation: valText } = splitText(text, o.valFraction ?? 0.1);
  const evalText = o.evalChars ? valText.slice(0, o.evalChars) : valText;
  const tokenizer: Tokenizer = (o.tokenizer ?? "char") === "char"
    ? CharTokenizer.fromText(text, { unk: "<unk>" }) // the book's characters (the vocabulary, not its statistics)
    : ByteLevelBPE.train([train], { vocabSize: o.bpeVocabSize ?? 1024, specialTokens: ["<|endoftext|>"] });
  const trainIds = tokenizer.encode(train, { addSpecialTokens: false });
  const valIds = tokenizer.encode(evalText, { addSpecialTokens: false });
  const config = gptConfig(o.preset ?? "gpt-char", { ...o.config, vocabSize: tokenizer.vocabSize });
  const ctx = config.nPositions;
  if (trainIds.length < ctx + 2) throw new RangeError(`trainLM: the training text has ${trainIds.length} tokens, fewer than the context ${ctx} + 2`);
  manualSeed(o.seed ?? 0);
  const g = new Generator(o.seed ?? 0);
  const model = new GPT2LMHeadModel(config);
  model.train();
  const B = o.batchSize ?? 32;
  const opt = new AdamW(weightDecayGroups(model, o.weightDecay ?? 0.1), { lr: o.lr ?? 3e-3, betas: [0.9, 0.95], eps: 1e-8 });
  const sched = new LRScheduler(opt, warmupCosineSchedule(o.warmupSteps ?? Math.max(1, Math.round(0.05 * o.steps)), o.steps, 0.1));
  const bar = new ProgressBar({ quiet: !o.progress, unit: "tok/s" });
  bar.begin(o.steps, "train gpt");
  log(`GPT ${config.nLayer} layers, d ${config.nEmbd}, ${config.nHead} heads, context ${ctx}, vocab ${config.vocabSize}: ${model.numParameters()} parameters; ${trainIds.length} training tokens`);
  const curve: LMResult["curve"] = [];
  const losses: number[] = [];
  const t0 = performance.now();
  for (let step = 1; step <= o.steps; step++) {
    // random windows of ctx + 1 tokens: inputs are the first ctx, targets the last ctx
    const x = new Int32Array(B * ctx), y = new Int32Array(B * ctx);
    for (let b = 0; b < B; b++) {
      const s = g.randint(0, trainIds.length - ctx - 1);
      for (let t = 0; t < ctx; t++) {
        x[b * ctx + t] = trainIds[s + t];
        y[b * ctx + t] = trainIds[s + t + 1];
      }
    }
    const l = tidy(() => {
      const logits = model.forward(new Tensor(x, [B, ctx])).logits;
      const loss = crossEntropy(reshape(logits, [-1, config.vocabSize]), new Tensor(y, [B * ctx]));
      opt.zeroGrad();
      loss.backward();
      clipGradNorm(model.parameters(), 1);
      opt.step();
      return loss.item();
    });
    sched.step();
    losses.push(l);
    bar.tick(B * ctx, l);
    if (o.evalEvery && step % o.evalEvery === 0 && step < o.steps) {
      const v = evaluateLM(model, valIds, evalText.length);
      const recent = losses.slice(-o.evalEvery);
      curve.push({ step, trainLoss: recent.reduce((a, b) => a + b, 0) / recent.length, valBitsPerChar: v.bitsPerChar });
      log(`step ${step}: train loss ${curve.at(-1)!.trainLoss.toFixed(3)} nats/token, validation ${v.bitsPerChar.toFixed(3)} bits/char`);
    }
  }
  bar.end();
  const seconds = (performance.now() - t0) / 1000;
  const validation = evaluateLM(model, valIds, evalText.length);
  const tail = losses.slice(-Math.max(1, Math.round(o.steps / 10)));
  const trainLoss = tail.reduce((a, b) => a + b, 0) / tail.length;
  curve.push({ step: o.steps, trainLoss, valBitsPerChar: validation.bitsPerChar });
  model.eval();
  return { model, tokenizer, config, parameters: model.numParameters(), trainLoss, validation, curve, seconds, tokensPerSecond: (o.steps * B * ctx) / seconds };
}

/** A saved language model: checkpoint files plus the tokenizer inside config.json. */
export function saveLM(dir: string, r: { model: GPT2LMHeadModel; tokenizer: Tokenizer; config: GPT2Config }, meta: unknown = null): void {
  saveCheckpoint(dir, { config: { kind: "gpt2", config: r.config, tokenizer: r.tokenizer.toJSON() }, stateDict: r.model.stateDict(), meta });
}

/** Load what saveLM wrote (or a checkpoint with a Hugging Face tokenizer.json beside it). */
export function loadLM(dir: string): { model: GPT2LMHeadModel; tokenizer: Tokenizer; config: GPT2Config; meta: unknown } {
  const ck = loadCheckpoint<{ kind?: string; config?: GPT2Config; tokenizer?: unknown }>(dir);
  if (ck.config.kind !== "gpt2" || !ck.config.config) throw new Error(`loadLM: ${join(dir, "config.json")} does not describe a GPT-2 model (kind "${ck.config.kind}")`);
  const tokFile = join(dir, "tokenizer.json");
  const tokenizer = ck.config.tokenizer ? tokenizerFromJSON(ck.config.tokenizer, join(dir, "config.json")) : existsSync(tokFile) ? loadTokenizer(tokFile) : null;
  if (!tokenizer) throw new Error(`loadLM: ${dir} has no tokenizer (neither in config.json nor a tokenizer.json)`);
  const model = new GPT2LMHeadModel(ck.config.config);
  model.loadStateDict(ck.stateDict);
  model.eval();
  if (tokenizer.vocabSize > ck.config.config.vocabSize) {
    throw new Error(`loadLM: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${ck.config.config.vocabSize}`);
  }
  return { model, tokenizer, config: ck.config.config, meta: ck.meta };
}
