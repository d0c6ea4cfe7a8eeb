// Two tasks, one T5 model, told apart only by a text prefix (Raffel et al. 2020, §2.4: "we
// add a task-specific (text) prefix to the original input sequence"):
//
//   "g2p: phoneme"     -> "F OW N IY M"   CMUdict pronunciation (fixed split of src/data/cmudict.ts)
//   "reverse: phoneme" -> "emenohp"       the word spelled backwards
//
// Text is tokenized at the level these tasks live at: a prefix is one token, a word is its
// letters, a pronunciation its ARPAbet phonemes. Each task is scored by exact match on test
// words that were never seen in training (for either task).

import "../backend/js/index.js";
import "../backend/native/index.js";
import "../ops/index.js";
import { loadCmudict, type G2PEntry } from "../data/cmudict.js";
import { T5ForConditionalGeneration, t5Config, t5Decoder, type T5Config } from "../models/t5.js";
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
import { sequenceErrorRates } from "../train/seq-metrics.js";
import { greedyDecode } from "../transformer/decoding.js";

export const T5_TASKS = ["g2p", "reverse"] as const;
export type T5TaskName = (typeof T5_TASKS)[number];

const LETTERS = [..."'abcdefghijklmnopqrstuvwxyz"];
const PHONEMES = ["AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY", "JH", "K", "L", "M",
  "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH"];

/**
 * The text-to-text vocabulary: <pad> = 0 (also the decoder's start), </s> = 1, <unk> = 2, the
 * task prefixes, letters, phonemes. A space-separated chunk that is a token (a prefix or a
 * phoneme) is one id; any other chunk is spelled letter by letter.
 */
export class TextToTextVocab {
  readonly tokens: string[];
  private readonly index: Map<string, number>;
  readonly pad = 0;
  readonly eos = 1;
  readonly unk = 2;

  constructor() {
    this.tokens = ["<pad>", "</s>", "<unk>", ...T5_TASKS.map((t) => `${t}:`), ...LETTERS, ...PHONEMES];
    this.index = new Map(this.tokens.map((t, i) => [t, i]));
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Text -> ids, ending with </s>. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const chunk of text.trim().split(/\s+/)) {
      if (!chunk) continue;
      const whole = this.index.get(chunk);
      if (whole !== undefined && (chunk.length > 1 || chunk === chunk.toUpperCase())) out.push(whole);
      else for (const ch of chunk) out.push(this.index.get(ch) ?? this.unk);
    }
    out.push(this.eos);
    return out;
  }

  /** Ids -> text: letters run together, prefixes and phonemes separated by spaces; stops at </s>. */
  decode(ids: readonly number[]): string {
    let s = "", prevLetter = false;
    for (const id of ids) {
      if (id === this.eos) break;
      if (!(Number.isInteger(id) && id >= 0 && id < this.tokens.length)) throw new RangeError(`TextToTextVocab: id ${id} is outside the vocabulary of ${this.tokens.length}`);
      if (id === this.pad) continue;
      const t = this.tokens[id];
      const letter = t.length === 1 && t === t.toLowerCase();
      s += s && !(letter && prevLetter) ? ` ${t}` : t;
      prevLetter = letter;
    }
    return s;
  }
}

export interface TextPair {
  task: T5TaskName;
  input: string;
  target: string;
}

/** One example of a task for a dictionary entry. */
export function taskExample(task: T5TaskName, e: G2PEntry): TextPair {
  return task === "g2p"
    ? { task, input: `g2p: ${e.word}`, target: e.phonemes.join(" ") }
    : { task, input: `reverse: ${e.word}`, target: [...e.word].reverse().join("") };
}

export interface T5TaskOptions {
  /** Training words per task (drawn from CMUdict's train split; default 8000). */
  trainPerTask?: number;
  /** Test words per task (from the test split; default 500). */
  testPerTask?: number;
  config?: Partial<T5Config>;
  steps: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  progress?: boolean;
  log?: (s: string) => void;
}

export interface T5TaskResult {
  model: T5ForConditionalGeneration;
  vocab: TextToTextVocab;
  config: T5Config;
  parameters: number;
  seconds: number;
  finalLoss: number;
  /** Per task: exact-match accuracy, and token error rate (phoneme or letter error rate). */
  tasks: Record<T5TaskName, { accuracy: number; tokenErrorRate: number; words: number }>;
  examples: { input: string; target: string; output: string }[];
}

function sample<T>(xs: readonly T[], n: number, g: Generator): T[] {
  return Array.from(g.permutation(xs.length)).slice(0, Math.min(n, xs.length)).map((i) => xs[i]);
}

/** Pad id rows to [B, T]. */
function padRows(rows: readonly number[][]): Tensor {
  const T = Math.max(...rows.map((r) => r.length));
  const out = new Int32Array(rows.length * T);
  rows.forEach((r, b) => out.set(r, b * T));
  return new Tensor(out, [rows.length, T]);
}

/** Decode every input greedily (batched), returning the output texts. */
export function runT5(model: T5ForConditionalGeneration, vocab: TextToTextVocab, inputs: readonly string[], maxLen = 32): string[] {
  const out: string[] = [];
  const dec = t5Decoder(model);
  noGrad(() => {
    for (let i = 0; i < inputs.length; i += 128) {
      const src = padRows(inputs.slice(i, i + 128).map((s) => vocab.encode(s)));
      for (const ids of greedyDecode(dec, src, { bos: model.config.decoderStartTokenId, eos: vocab.eos, maxLen })) out.push(vocab.decode(ids));
    }
  });
  return out;
}

/**
 * Each task draws its own training words; test words come from the test split only. A function
 * of its own so that the whole dictionary (about 30 MB of JavaScript objects) is garbage once it
 * returns: kept alive through training, every full GC would trace it again (with the engine's
 * many short-lived arrays, that was 40% of T5's training time).
 */
function t5TaskExamples(nTrain: number, nTest: number, g: Generator): { train: TextPair[]; test: TextPair[] } {
  const dict = loadCmudict();
  return {
    train: T5_TASKS.flatMap((task) => sample(dict.train, nTrain, g).map((e) => taskExample(task, e))),
    test: T5_TASKS.flatMap((task) => sample(dict.test, nTest, g).map((e) => taskExample(task, e))),
  };
}

/** Train one T5 on both tasks at once (mixed batches) and score each task on unseen words. */
export function trainT5Tasks(o: T5TaskOptions): T5TaskResult {
  const log = o.log ?? ((): void => {});
  const g = new Generator(o.seed ?? 0);
  manualSeed(o.seed ?? 0);
  const vocab = new TextToTextVocab();
  const nTrain = o.trainPerTask ?? 8000, nTest = o.testPerTask ?? 500;
  const { train, test } = t5TaskExamples(nTrain, nTest, g);
  const config = t5Config("t5-tiny", { dropoutRate: 0.1, ...o.config, vocabSize: vocab.size, padTokenId: vocab.pad, eosTokenId: vocab.eos, decoderStartTokenId: vocab.pad });
  const model = new T5ForConditionalGeneration(config);
  model.train();
  log(`T5 ${config.numLayers}+${config.numDecoderLayers} layers, d ${config.dModel}, ${config.numHeads} heads: ${model.numParameters()} parameters; ${train.length} training pairs (${nTrain} per task), ${test.length} test pairs`);
  const enc = train.map((p) => ({ src: vocab.encode(p.input), tgt: vocab.encode(p.target) }));
  const B = o.batchSize ?? 64;
  const opt = new AdamW(weightDecayGroups(model, 0.01), { lr: o.lr ?? 2e-3, betas: [0.9, 0.98], eps: 1e-9 });
  const sched = new LRScheduler(opt, warmupCosineSchedule(Math.max(1, Math.round(0.05 * o.steps)), o.steps, 0.05));
  const bar = new ProgressBar({ quiet: !o.progress, unit: "ex/s" });
  bar.begin(o.steps, "train t5 (g2p + reverse)");
  let order = Array.from(g.permutation(enc.length)), pos = 0;
  const losses: number[] = [];
  const t0 = performance.now();
  for (let step = 1; step <= o.steps; step++) {
    const idx: number[] = [];
    while (idx.length < B) {
      if (pos === order.length) {
        order = Array.from(g.permutation(enc.length));
        pos = 0;
      }
      idx.push(order[pos++]);
    }
    const src = padRows(idx.map((i) => enc[i].src));
    const labels = padRows(idx.map((i) => enc[i].tgt)); // target + </s>, padded with <pad> (= ignored)
    losses.push(tidy(() => {
      const logits = model.forward(src, { decoderInputIds: model.shiftRight(labels) }).logits;
      const loss = crossEntropy(reshape(logits, [-1, vocab.size]), reshape(labels, [-1]), { ignoreIndex: vocab.pad });
      opt.zeroGrad();
      loss.backward();
      clipGradNorm(model.parameters(), 1);
      opt.step();
      return loss.item();
    }));
    sched.step();
    bar.tick(B, losses.at(-1)!);
    if (step % Math.max(1, Math.round(o.steps / 10)) === 0) {
      const recent = losses.slice(-Math.round(o.steps / 10));
      log(`step ${step}/${o.steps}: loss ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(3)}`);
    }
  }
  bar.end();
  const seconds = (performance.now() - t0) / 1000;
  model.eval();
  const outputs = runT5(model, vocab, test.map((p) => p.input));
  const tasks = {} as T5TaskResult["tasks"];
  for (const task of T5_TASKS) {
    const idx = test.map((p, i) => (p.task === task ? i : -1)).filter((i) => i >= 0);
    // token error rate over the target's tokens (phonemes for g2p, letters for reverse)
    const toks = (s: string): string[] => (task === "g2p" ? s.split(" ").filter(Boolean) : [...s]);
    const r = sequenceErrorRates(idx.map((i) => toks(outputs[i])), idx.map((i) => toks(test[i].target)));
    tasks[task] = { accuracy: r.exactMatch, tokenErrorRate: r.per, words: idx.length };
  }
  const tail = losses.slice(-Math.max(1, Math.round(o.steps / 10)));
  return {
    model, vocab, config, parameters: model.numParameters(), seconds, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, tasks,
    examples: [0, 1, 2, nTest, nTest + 1, nTest + 2].filter((i) => i < test.length).map((i) => ({ input: test[i].input, target: test[i].target, output: outputs[i] })),
  };
}
