// The copy and reverse tasks (the Annotated Transformer's smoke test): the target is the
// source, or the source reversed. Random sequences of digit symbols, drawn from a seeded
// generator; the held-out set never repeats a training sequence.

import { Vocabulary } from "../data/vocab.js";
import { Generator, manualSeed } from "../tensor/random.js";
import { sequenceErrorRates, type SequenceErrorRates } from "../train/seq-metrics.js";
import { decodeAll, defaultSpec, type ModelKind, type Pair, Seq2Seq, type Seq2SeqSpec, trainSeq2Seq, type EpochStats } from "./seq2seq.js";

export type CopyMode = "copy" | "reverse";

export interface CopyDataOptions {
  mode?: CopyMode;
  /** Distinct symbols (default 10: "0".."9"). */
  symbols?: number;
  minLen?: number;
  maxLen?: number;
  train?: number;
  test?: number;
  seed?: number;
}

export interface CopyData {
  vocab: Vocabulary;
  train: Pair[];
  test: Pair[];
}

export function copyData(o: CopyDataOptions = {}): CopyData {
  const mode = o.mode ?? "copy";
  const nSym = o.symbols ?? 10, minLen = o.minLen ?? 3, maxLen = o.maxLen ?? 10;
  if (!(nSym >= 2)) throw new RangeError(`copyData: need at least 2 symbols, got ${nSym}`);
  if (!(minLen >= 1 && maxLen >= minLen)) throw new RangeError(`copyData: need 1 <= minLen <= maxLen, got ${minLen} and ${maxLen}`);
  const vocab = new Vocabulary(Array.from({ length: nSym }, (_, i) => String(i)));
  const g = new Generator(o.seed ?? 1);
  const draw = (): number[] => {
    const len = minLen + Math.floor(g.random() * (maxLen - minLen + 1));
    return Array.from({ length: len }, () => vocab.id(String(Math.floor(g.random() * nSym))));
  };
  const pair = (src: number[]): Pair => ({ src, tgt: mode === "copy" ? [...src] : [...src].reverse() });
  const seen = new Set<string>();
  const train: Pair[] = [];
  for (let i = 0; i < (o.train ?? 2000); i++) {
    const s = draw();
    seen.add(s.join(","));
    train.push(pair(s));
  }
  const test: Pair[] = [];
  const want = o.test ?? 200;
  for (let tries = 0; test.length < want && tries < want * 100; tries++) {
    const s = draw();
    const key = s.join(",");
    if (seen.has(key)) continue; // held out: never seen in training
    seen.add(key);
    test.push(pair(s));
  }
  if (test.length < want) throw new RangeError(`copyData: could only draw ${test.length} unseen test sequences of ${want}`);
  return { vocab, train, test };
}

export interface CopyTaskOptions extends CopyDataOptions {
  model?: ModelKind;
  spec?: Seq2SeqSpec;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  progress?: boolean;
  onEpoch?: (e: EpochStats) => void;
}

export interface CopyTaskResult {
  model: Seq2Seq;
  vocab: Vocabulary;
  epochs: EpochStats[];
  /** On the held-out sequences. */
  test: SequenceErrorRates;
  parameters: number;
}

/** Train a model on copy (or reverse) and measure exact match on held-out sequences. */
export function runCopyTask(o: CopyTaskOptions = {}): CopyTaskResult {
  const data = copyData(o);
  const kind = o.model ?? "transformer";
  let spec = o.spec;
  if (!spec) {
    spec = defaultSpec(kind, data.vocab.size, data.vocab.size, "tiny", 2 * (o.maxLen ?? 10) + 4);
    spec.config.dropout = 0; // nothing to regularise: the task is deterministic and the data plentiful
  }
  manualSeed(o.seed ?? 1); // the initial weights too, so a run does not depend on what ran before it
  const model = new Seq2Seq(spec);
  const epochs = trainSeq2Seq(model, data.train, {
    epochs: o.epochs ?? 15, batchSize: o.batchSize ?? 64, lr: o.lr ?? 3e-3, seed: o.seed ?? 1,
    progress: o.progress, onEpoch: o.onEpoch, labelSmoothing: 0,
  });
  const preds = decodeAll(model, data.test.map((p) => p.src), { maxLen: (o.maxLen ?? 10) + 2 });
  return {
    model, vocab: data.vocab, epochs, test: sequenceErrorRates(preds, data.test.map((p) => p.tgt)), parameters: model.module.numParameters(),
  };
}
