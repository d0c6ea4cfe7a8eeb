// What the sequence-to-sequence tasks (copy/reverse, grapheme-to-phoneme) share: the two
// model kinds behind one small interface, padded batches, a teacher-forced training loop
// (AdamW, warmup + cosine schedule, label smoothing, gradient clipping, progress bar) and
// batched decoding through the StepDecoder interface of src/transformer/decoding.ts.

import "../backend/js/index.js";
import "../backend/native/index.js";
import "../ops/index.js";
import { paddingMaskFromIds } from "../attention/masks.js";
import type { RnnAttentionConfig } from "../models/rnn-attention.js";
import { RnnAttentionSeq2Seq, rnnAttentionDecoder } from "../models/rnn-attention.js";
import { Transformer, type TransformerConfig } from "../models/transformer.js";
import type { Module } from "../nn/module.js";
import { crossEntropy } from "../ops/loss.js";
import { reshape } from "../ops/shape.js";
import { Generator } from "../tensor/random.js";
import { manualSeed } from "../tensor/random.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { tidy } from "../tensor/tidy.js";
import { AdamW } from "../train/optim/adam.js";
import { clipGradNorm } from "../train/optim/clip.js";
import { LRScheduler, warmupCosineSchedule } from "../train/optim/schedules.js";
import { ProgressBar } from "../train/progress.js";
import { beamSearch, greedyDecode, type StepDecoder, transformerDecoder } from "../transformer/decoding.js";
import { BOS, EOS, PAD } from "../data/vocab.js";

export type ModelKind = "transformer" | "gru";

export type Seq2SeqSpec =
  | { kind: "transformer"; config: TransformerConfig }
  | { kind: "gru"; config: RnnAttentionConfig };

/** Either model behind the three things the tasks need. */
export class Seq2Seq {
  readonly module: Transformer | RnnAttentionSeq2Seq;

  constructor(readonly spec: Seq2SeqSpec) {
    this.module = spec.kind === "transformer" ? new Transformer(spec.config) : new RnnAttentionSeq2Seq(spec.config);
  }

  get kind(): ModelKind {
    return this.spec.kind;
  }

  /** The source padding mask in the form the model takes. */
  srcMask(src: Tensor): Tensor {
    const m = paddingMaskFromIds(src, PAD); // [B, 1, S]
    return this.spec.kind === "transformer" ? reshape(m, [src.shape[0], 1, 1, src.shape[1]]) : m;
  }

  /** Teacher forcing: logits [B, T, V]. */
  logits(src: Tensor, tgtIn: Tensor): Tensor {
    const mask = this.srcMask(src);
    const m = this.module;
    return m instanceof Transformer ? m.forward(src, tgtIn, mask) : m.forward(src, tgtIn, mask).logits;
  }

  decoder(): StepDecoder<unknown> {
    const m = this.module;
    return (m instanceof Transformer ? transformerDecoder(m) : rnnAttentionDecoder(m)) as StepDecoder<unknown>;
  }
}

/** The default sizes of each kind for a task's vocabularies. */
export function defaultSpec(kind: ModelKind, srcVocabSize: number, tgtVocabSize: number, size: "tiny" | "small" = "small", maxLen = 64): Seq2SeqSpec {
  if (kind === "transformer") {
    const d = size === "tiny" ? 64 : 256;
    return {
      kind,
      config: {
        srcVocabSize, tgtVocabSize, dModel: d, numHeads: 4, numEncoderLayers: size === "tiny" ? 2 : 3, numDecoderLayers: size === "tiny" ? 2 : 3,
        dimFeedforward: 4 * d, dropout: 0.1, maxLen, normFirst: true, shareEmbeddings: false,
      },
    };
  }
  const h = size === "tiny" ? 64 : 256;
  return {
    kind,
    config: {
      srcVocabSize, tgtVocabSize, embedDim: size === "tiny" ? 32 : 128, encoderHidden: h, decoderHidden: h, attentionDim: h,
      readoutDim: h, dropout: 0.1, padId: PAD,
    },
  };
}

/** One example: source and target ids without bos/eos. */
export interface Pair {
  src: number[];
  tgt: number[];
}

/**
 * Many pairs packed into two flat typed arrays. A million-token training set as Pair objects is
 * about 50 MB of small JavaScript arrays (CMUdict's 111k words), which every full garbage
 * collection traces again, and the engine's short-lived tensors trigger many: packed, the G2P
 * training step spends far less of its time in the collector.
 */
export class PairList {
  /** srcStart, srcLength, tgtStart, tgtLength per pair */
  private readonly index: Int32Array;
  private readonly tokens: Int32Array;
  readonly length: number;

  constructor(pairs: readonly Pair[]) {
    this.length = pairs.length;
    this.index = new Int32Array(4 * pairs.length);
    let n = 0;
    for (const p of pairs) n += p.src.length + p.tgt.length;
    this.tokens = new Int32Array(n);
    let at = 0;
    pairs.forEach((p, i) => {
      this.index.set([at, p.src.length, at + p.src.length, p.tgt.length], 4 * i);
      this.tokens.set(p.src, at);
      this.tokens.set(p.tgt, at + p.src.length);
      at += p.src.length + p.tgt.length;
    });
  }

  srcLength(i: number): number {
    return this.index[4 * i + 1];
  }
  tgtLength(i: number): number {
    return this.index[4 * i + 3];
  }
  /** Pair i, as fresh arrays. */
  get(i: number): Pair {
    const [s, sl, t, tl] = this.index.subarray(4 * i, 4 * i + 4);
    return { src: Array.from(this.tokens.subarray(s, s + sl)), tgt: Array.from(this.tokens.subarray(t, t + tl)) };
  }
}

export interface Batch {
  src: Tensor; // [B, S] int32, PAD-padded
  tgtIn: Tensor; // [B, T + 1]: bos + target
  tgtOut: Tensor; // [B, T + 1]: target + eos
  /** Target tokens incl. eos (what the loss averages over). */
  tokens: number;
  size: number;
}

export function makeBatch(pairs: readonly Pair[]): Batch {
  const B = pairs.length;
  if (B === 0) throw new RangeError("makeBatch: no examples");
  const S = Math.max(...pairs.map((p) => p.src.length));
  const T = Math.max(...pairs.map((p) => p.tgt.length)) + 1;
  const src = new Int32Array(B * S), tin = new Int32Array(B * T), tout = new Int32Array(B * T);
  let tokens = 0;
  pairs.forEach((p, b) => {
    if (p.src.length === 0) throw new RangeError(`makeBatch: example ${b} has an empty source`);
    src.set(p.src, b * S);
    tin[b * T] = BOS;
    tin.set(p.tgt, b * T + 1);
    tout.set(p.tgt, b * T);
    tout[b * T + p.tgt.length] = EOS;
    tokens += p.tgt.length + 1;
  });
  return {
    src: new Tensor(src, [B, S]), tgtIn: new Tensor(tin, [B, T]), tgtOut: new Tensor(tout, [B, T]), tokens, size: B,
  };
}

/**
 * Batches for one epoch: shuffled, then sorted by length within pools of 50 batches (so a
 * batch holds sequences of similar length and little padding), then the batches shuffled.
 */
export function epochBatches(pairs: PairList, batchSize: number, g: Generator | null): Batch[] {
  const srcLen = (i: number): number => pairs.srcLength(i), tgtLen = (i: number): number => pairs.tgtLength(i);
  const order = g ? Array.from(g.permutation(pairs.length)) : Array.from({ length: pairs.length }, (_, i) => i);
  const pool = batchSize * 50;
  const groups: number[][] = [];
  for (let s = 0; s < order.length; s += pool) {
    const chunk = order.slice(s, s + pool);
    if (g) chunk.sort((a, b) => srcLen(a) - srcLen(b) || tgtLen(a) - tgtLen(b));
    for (let i = 0; i < chunk.length; i += batchSize) groups.push(chunk.slice(i, i + batchSize));
  }
  if (g) {
    for (let i = groups.length - 1; i > 0; i--) {
      const j = Math.floor(g.random() * (i + 1));
      [groups[i], groups[j]] = [groups[j], groups[i]];
    }
  }
  return groups.map((idx) => makeBatch(idx.map((i) => pairs.get(i))));
}

export interface TrainOptions {
  epochs: number;
  batchSize?: number;
  lr?: number;
  /** Warmup steps of the warmup + cosine schedule (default 4% of all steps, at least 1). */
  warmupSteps?: number;
  labelSmoothing?: number;
  clip?: number;
  weightDecay?: number;
  seed?: number;
  /** Draw a progress bar on a terminal (off for --json). */
  progress?: boolean;
  /** Called after each epoch (e.g. to evaluate on dev or log). */
  onEpoch?: (e: EpochStats) => void;
}

export interface EpochStats {
  epoch: number;
  loss: number;
  seconds: number;
  tokensPerSecond: number;
  examplesPerSecond: number;
}

/** Teacher-forced training; returns the statistics of every epoch. */
export function trainSeq2Seq(model: Seq2Seq, train: readonly Pair[] | PairList, o: TrainOptions): EpochStats[] {
  if (train.length === 0) throw new RangeError("trainSeq2Seq: no training examples");
  if (!(Number.isInteger(o.epochs) && o.epochs >= 1)) throw new RangeError(`trainSeq2Seq: epochs must be a positive integer, got ${o.epochs}`);
  const pairs = train instanceof PairList ? train : new PairList(train);
  const batchSize = o.batchSize ?? 64;
  const g = new Generator(o.seed ?? 0);
  manualSeed(o.seed ?? 0); // dropout draws from the default generator
  const m = model.module as Module;
  m.train();
  const stepsPerEpoch = Math.ceil(train.length / batchSize);
  const total = stepsPerEpoch * o.epochs;
  const opt = new AdamW(m.parameters(), { lr: o.lr ?? 1e-3, betas: [0.9, 0.98], eps: 1e-9, weightDecay: o.weightDecay ?? 0.01 });
  const sched = new LRScheduler(opt, warmupCosineSchedule(o.warmupSteps ?? Math.max(1, Math.round(0.04 * total)), total, 0.02));
  const bar = new ProgressBar({ quiet: !o.progress, unit: "tok/s" });
  const stats: EpochStats[] = [];
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const batches = epochBatches(pairs, batchSize, g);
    bar.begin(batches.length, `epoch ${epoch}/${o.epochs}`);
    const t0 = performance.now();
    let lossSum = 0, tokSum = 0, exSum = 0;
    for (const b of batches) {
      const l = tidy(() => {
        const logits = model.logits(b.src, b.tgtIn); // [B, T, V]
        const V = logits.shape[2];
        const loss = crossEntropy(reshape(logits, [-1, V]), reshape(b.tgtOut, [-1]), { ignoreIndex: PAD, labelSmoothing: o.labelSmoothing ?? 0.1 });
        opt.zeroGrad();
        loss.backward();
        if (o.clip !== 0) clipGradNorm(m.parameters(), o.clip ?? 1);
        opt.step();
        return loss.item();
      });
      sched.step();
      lossSum += l * b.tokens;
      tokSum += b.tokens;
      exSum += b.size;
      bar.tick(b.tokens, l);
    }
    bar.end();
    const seconds = (performance.now() - t0) / 1000;
    const s = { epoch, loss: lossSum / tokSum, seconds, tokensPerSecond: tokSum / seconds, examplesPerSecond: exSum / seconds };
    stats.push(s);
    o.onEpoch?.(s);
  }
  m.eval();
  return stats;
}

export interface DecodeAllOptions {
  batchSize?: number;
  /** Most output tokens (default: longest source * 2 + 10). */
  maxLen?: number;
  /** 1 (default) is greedy; more runs beam search. */
  beamSize?: number;
}

/** Decode every source (in batches of similar length), returning predictions in input order. */
export function decodeAll(model: Seq2Seq, sources: readonly number[][], o: DecodeAllOptions = {}): number[][] {
  const m = model.module as Module;
  const wasTraining = m.training;
  m.eval();
  const batchSize = o.batchSize ?? 256;
  const order = sources.map((_, i) => i).sort((a, b) => sources[a].length - sources[b].length);
  const out: number[][] = new Array(sources.length);
  const dec = model.decoder();
  noGrad(() => {
    for (let s = 0; s < order.length; s += batchSize) {
      const idx = order.slice(s, s + batchSize);
      const batch = makeBatch(idx.map((i) => ({ src: sources[i], tgt: [] })));
      const maxLen = o.maxLen ?? 2 * batch.src.shape[1] + 10;
      const opts = { bos: BOS, eos: EOS, maxLen, srcMask: model.srcMask(batch.src) };
      const preds = (o.beamSize ?? 1) > 1 ? beamSearch(dec, batch.src, { ...opts, beamSize: o.beamSize! }) : greedyDecode(dec, batch.src, opts);
      idx.forEach((i, k) => (out[i] = preds[k]));
    }
  });
  m.train(wasTraining);
  return out;
}
