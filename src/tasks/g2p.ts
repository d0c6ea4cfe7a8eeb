// Grapheme-to-phoneme conversion on CMUdict: letters in, ARPAbet phonemes out, with either the
// Transformer or the GRU + attention baseline. Data and split: src/data/cmudict.ts (fixed,
// by word hash, 90/5/5). Metrics: word error rate and phoneme error rate (src/train/seq-metrics.ts).

import { cmudictPronunciations, type G2PEntry, loadCmudict, normalizeCmudict, rawCmudict } from "../data/cmudict.js";
import { Vocabulary } from "../data/vocab.js";
import { manualSeed } from "../tensor/random.js";
import { type SequenceErrorRates, sequenceErrorRates, sequenceErrorRatesAnyReference } from "../train/seq-metrics.js";
import {
  decodeAll, defaultSpec, type EpochStats, type ModelKind, type Pair, PairList, Seq2Seq, type Seq2SeqSpec, trainSeq2Seq,
} from "./seq2seq.js";

/** The source alphabet: apostrophe and a-z, fixed so it never depends on the data. */
export const LETTERS = ["'", ..."abcdefghijklmnopqrstuvwxyz"];

export interface G2PVocabs {
  letters: Vocabulary;
  phonemes: Vocabulary;
}

export interface G2PData extends G2PVocabs {
  train: G2PEntry[];
  dev: G2PEntry[];
  test: G2PEntry[];
}

export interface G2PDataOptions {
  keepStress?: boolean;
  /** Use the first N training words (in a fixed seeded order); default all. */
  trainLimit?: number;
  devLimit?: number;
  testLimit?: number;
}

/** Take n entries spread over the whole (alphabetical) list: every k-th, so it is deterministic. */
function spread<T>(xs: T[], n: number | undefined): T[] {
  if (n === undefined || n >= xs.length) return xs;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(xs[Math.floor((i * xs.length) / n)]);
  return out;
}

export function g2pData(o: G2PDataOptions = {}): G2PData {
  const raw = rawCmudict();
  const s = loadCmudict({ keepStress: o.keepStress }, raw);
  const phonemes = Vocabulary.fromSequences(normalizeCmudict(raw, { keepStress: o.keepStress }).map((e) => e.phonemes));
  return {
    letters: new Vocabulary(LETTERS),
    phonemes,
    train: spread(s.train, o.trainLimit),
    dev: spread(s.dev, o.devLimit),
    test: spread(s.test, o.testLimit),
  };
}

export function encodeWord(v: G2PVocabs, word: string): number[] {
  const w = word.toLowerCase();
  const bad = [...w].filter((c) => !v.letters.has(c));
  if (bad.length || w.length === 0) {
    throw new RangeError(`g2p: "${word}" must be a non-empty word of letters and apostrophes${bad.length ? ` (got ${JSON.stringify(bad.join(""))})` : ""}`);
  }
  return v.letters.encode(w);
}

export function toPairs(v: G2PVocabs, entries: readonly G2PEntry[]): Pair[] {
  return entries.map((e) => ({ src: encodeWord(v, e.word), tgt: v.phonemes.encode(e.phonemes) }));
}

/** Phoneme sequences for words. */
export function pronounce(model: Seq2Seq, v: G2PVocabs, words: readonly string[], o: { beamSize?: number; batchSize?: number } = {}): string[][] {
  const preds = decodeAll(model, words.map((w) => encodeWord(v, w)), { beamSize: o.beamSize, batchSize: o.batchSize, maxLen: 40 });
  return preds.map((p) => v.phonemes.decode(p));
}

export interface G2PErrorRates extends SequenceErrorRates {
  /**
   * The same predictions scored against every CMUdict pronunciation of the word (right when
   * any matches; PER against the closest), the protocol of most published CMUdict results.
   */
  anyReference: SequenceErrorRates;
}

/**
 * WER and PER of the model on entries, against each entry's own pronunciation (the headline
 * numbers) and against all of the word's CMUdict pronunciations (`anyReference`).
 */
export function evaluateG2P(model: Seq2Seq, v: G2PVocabs, entries: readonly G2PEntry[], o: { beamSize?: number } = {}): G2PErrorRates {
  const preds = pronounce(model, v, entries.map((e) => e.word), o);
  // the entries' phonemes say whether stress digits were kept; the references must match
  const keepStress = entries.some((e) => e.phonemes.some((p) => /[0-9]/.test(p)));
  // only these words' pronunciations, built afresh: the whole map would be tens of MB that a
  // training run evaluating every epoch should not keep alive (see PairList)
  const all = cmudictPronunciations({ keepStress }, undefined, entries.map((e) => e.word));
  const refs = entries.map((e) => {
    const r = all.get(e.word);
    return r && r[0].join(" ") === e.phonemes.join(" ") ? r : [e.phonemes];
  });
  return { ...sequenceErrorRates(preds, entries.map((e) => e.phonemes)), anyReference: sequenceErrorRatesAnyReference(preds, refs) };
}

export interface G2PTrainOptions extends G2PDataOptions {
  model?: ModelKind;
  /** Overrides the default sizes of the model kind. */
  spec?: Seq2SeqSpec;
  /** Continue training this model (e.g. from loadG2PCheckpoint) instead of a fresh one; its spec wins. */
  initModel?: Seq2Seq;
  size?: "tiny" | "small";
  epochs?: number;
  batchSize?: number;
  lr?: number;
  labelSmoothing?: number;
  seed?: number;
  beamSize?: number;
  progress?: boolean;
  /** Evaluate on dev after every epoch (costs a decode of the dev set). */
  devEachEpoch?: boolean;
  /** After each epoch, with the model being trained (to save a checkpoint per epoch, say). */
  onEpoch?: (e: EpochStats & { dev?: SequenceErrorRates }, model: Seq2Seq) => void;
}

export interface G2PResult {
  model: Seq2Seq;
  vocabs: G2PVocabs;
  spec: Seq2SeqSpec;
  parameters: number;
  split: { train: number; dev: number; test: number };
  epochs: EpochStats[];
  secondsPerEpoch: number;
  dev: G2PErrorRates;
  test: G2PErrorRates;
  evalSeconds: number;
}

/** Default learning rates: the Transformer with warmup + cosine, the GRU baseline higher. */
const LR: Record<ModelKind, number> = { transformer: 1e-3, gru: 2e-3 };

export function trainG2P(o: G2PTrainOptions = {}): G2PResult {
  const data = g2pData(o);
  const kind = o.initModel?.kind ?? o.model ?? "transformer";
  const spec = o.initModel?.spec ?? o.spec ?? defaultSpec(kind, data.letters.size, data.phonemes.size, o.size ?? "small", 64);
  if (!o.initModel) manualSeed(o.seed ?? 0); // initial weights from the run's seed, not from earlier draws
  const model = o.initModel ?? new Seq2Seq(spec);
  const trainCount = data.train.length;
  // packed, and the dictionary entries dropped: see PairList
  const train = new PairList(toPairs(data, data.train));
  data.train = [];
  const epochs = trainSeq2Seq(model, train, {
    epochs: o.epochs ?? 10, batchSize: o.batchSize ?? 64, lr: o.lr ?? LR[kind], seed: o.seed ?? 0, labelSmoothing: o.labelSmoothing ?? 0.1,
    progress: o.progress,
    onEpoch: (e) => {
      const dev = o.devEachEpoch ? evaluateG2P(model, data, data.dev) : undefined;
      if (o.devEachEpoch) (model.module as { train(m?: boolean): unknown }).train(true);
      o.onEpoch?.({ ...e, dev }, model);
    },
  });
  const t0 = performance.now();
  const dev = evaluateG2P(model, data, data.dev, { beamSize: o.beamSize });
  const test = evaluateG2P(model, data, data.test, { beamSize: o.beamSize });
  return {
    model, vocabs: { letters: data.letters, phonemes: data.phonemes }, spec, parameters: model.module.numParameters(),
    split: { train: trainCount, dev: data.dev.length, test: data.test.length }, epochs,
    secondsPerEpoch: epochs.reduce((a, e) => a + e.seconds, 0) / epochs.length, dev, test, evalSeconds: (performance.now() - t0) / 1000,
  };
}
