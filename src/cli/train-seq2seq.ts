// `tsformer train seq2seq --task copy|g2p --model transformer|gru ...`: train a sequence-to-
// sequence model on the copy/reverse task or on CMUdict grapheme-to-phoneme, with a progress
// bar (loss, tokens/s, ETA) on a terminal, a checkpoint in --out, and --json for a summary.

import { parseArgs } from "node:util";
import { backendName, setBackend } from "../index.js";
import { saveCheckpoint } from "../io/checkpoint.js";
import { runCopyTask } from "../tasks/copy.js";
import { trainG2P } from "../tasks/g2p.js";
import { saveG2PCheckpoint } from "../tasks/g2p-checkpoint.js";
import type { ModelKind } from "../tasks/seq2seq.js";

export const TRAIN_SEQ2SEQ_HELP = `Usage: tsformer train seq2seq --task copy|g2p [options]

  --task copy|g2p            copy (or --reverse) random digit strings, or CMUdict grapheme-to-phoneme
  --model transformer|gru    the Transformer or the GRU + attention baseline (default transformer)
  --epochs N                 passes over the training set (default: copy 15, g2p 5)
  --batch-size N             examples per step (default: copy 64, g2p 128)
  --lr X                     peak learning rate (warmup + cosine)
  --size tiny|small          model size preset (default: copy tiny, g2p small)
  --train-limit N            g2p: use N training words (spread over the alphabet)
  --test-limit N             g2p: evaluate on N dev and N test words
  --reverse                  copy: the target is the source reversed
  --beam N                   g2p: beam search width for evaluation (default greedy)
  --seed N                   random seed (default 0)
  --out DIR                  save a checkpoint (config.json, index.json, weights.bin)
  --json                     print a machine-readable summary instead of the progress bar
  --backend js|native`;

function int(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`tsformer train seq2seq: --${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

export async function trainSeq2SeqCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      task: { type: "string" }, model: { type: "string", default: "transformer" }, epochs: { type: "string" },
      "batch-size": { type: "string" }, lr: { type: "string" }, size: { type: "string" }, "train-limit": { type: "string" },
      "test-limit": { type: "string" }, reverse: { type: "boolean" }, beam: { type: "string" }, seed: { type: "string" },
      out: { type: "string" }, json: { type: "boolean" }, backend: { type: "string" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(TRAIN_SEQ2SEQ_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  const task = values.task;
  if (task !== "copy" && task !== "g2p") {
    console.error(`tsformer train seq2seq: --task must be copy or g2p, got ${task === undefined ? "nothing" : `"${task}"`}\n\n${TRAIN_SEQ2SEQ_HELP}`);
    return 2;
  }
  const model = values.model as ModelKind;
  if (model !== "transformer" && model !== "gru") {
    console.error(`tsformer train seq2seq: --model must be transformer or gru, got "${values.model}"`);
    return 2;
  }
  const size = values.size as "tiny" | "small" | undefined;
  if (size !== undefined && size !== "tiny" && size !== "small") {
    console.error(`tsformer train seq2seq: --size must be tiny or small, got "${values.size}"`);
    return 2;
  }
  const lr = values.lr === undefined ? undefined : Number(values.lr);
  if (lr !== undefined && !(lr > 0)) throw new RangeError(`tsformer train seq2seq: --lr must be a positive number, got "${values.lr}"`);
  const epochs = int("epochs", values.epochs), batchSize = int("batch-size", values["batch-size"]), seed = int("seed", values.seed, 0);
  const log = values.json ? (): void => {} : (s: string): void => console.log(s);
  const progress = !values.json;
  const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

  if (task === "copy") {
    const mode = values.reverse ? "reverse" : "copy";
    const r = runCopyTask({
      model, mode, epochs: epochs ?? 15, batchSize, lr, seed, progress,
      onEpoch: (e) => log(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, ${e.seconds.toFixed(1)} s, ${Math.round(e.tokensPerSecond)} tok/s`),
    });
    if (values.out) {
      saveCheckpoint(values.out, {
        config: { task: "copy", mode, spec: r.model.spec, symbols: r.vocab.toJSON() }, stateDict: r.model.module.stateDict(), meta: { test: r.test },
      });
    }
    const summary = {
      task: mode, model, backend: backendName(), parameters: r.parameters, epochs: r.epochs.length,
      seconds_per_epoch: r.epochs.reduce((a, e) => a + e.seconds, 0) / r.epochs.length, final_loss: r.epochs[r.epochs.length - 1].loss,
      test: { exact_match: r.test.exactMatch, wer: r.test.wer, per: r.test.per, sequences: r.test.words }, out: values.out ?? null,
    };
    if (values.json) console.log(JSON.stringify(summary));
    else log(`${mode} (${model}, ${r.parameters} parameters): exact match ${pct(r.test.exactMatch)} on ${r.test.words} held-out sequences`);
    return 0;
  }

  const limit = int("test-limit", values["test-limit"]);
  const r = trainG2P({
    model, size, epochs: epochs ?? 5, batchSize: batchSize ?? 128, lr, seed, progress, trainLimit: int("train-limit", values["train-limit"]),
    devLimit: limit, testLimit: limit, beamSize: int("beam", values.beam),
    onEpoch: (e) => log(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, ${e.seconds.toFixed(1)} s, ${Math.round(e.examplesPerSecond)} words/s`),
  });
  if (values.out) saveG2PCheckpoint(values.out, r);
  const summary = {
    task: "g2p", model, backend: backendName(), parameters: r.parameters, split: r.split, epochs: r.epochs.length,
    seconds_per_epoch: r.secondsPerEpoch, final_loss: r.epochs[r.epochs.length - 1].loss,
    dev: { wer: r.dev.wer, per: r.dev.per },
    test: { wer: r.test.wer, per: r.test.per, words: r.test.words, any_reference: { wer: r.test.anyReference.wer, per: r.test.anyReference.per } },
    out: values.out ?? null,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else log(`g2p (${model}, ${r.parameters} parameters): test WER ${pct(r.test.wer)}, PER ${pct(r.test.per)} on ${r.test.words} words ` +
    `(against any CMUdict pronunciation: WER ${pct(r.test.anyReference.wer)}, PER ${pct(r.test.anyReference.per)}); ${r.secondsPerEpoch.toFixed(1)} s per epoch`);
  return 0;
}
