// Saving and loading a trained G2P model: the model spec and both vocabularies go in
// config.json, the weights in weights.bin (src/io/checkpoint.ts).

import { loadCheckpoint, saveCheckpoint } from "../io/checkpoint.js";
import { Vocabulary } from "../data/vocab.js";
import type { SequenceErrorRates } from "../train/seq-metrics.js";
import type { G2PVocabs } from "./g2p.js";
import { Seq2Seq, type Seq2SeqSpec } from "./seq2seq.js";

export interface G2PCheckpointConfig {
  task: "g2p";
  spec: Seq2SeqSpec;
  letters: string[];
  phonemes: string[];
}

export interface G2PCheckpointMeta {
  test?: SequenceErrorRates;
  dev?: SequenceErrorRates;
  epochs?: number;
  [k: string]: unknown;
}

export function saveG2PCheckpoint(dir: string, r: { model: Seq2Seq; vocabs: G2PVocabs; spec: Seq2SeqSpec; test?: SequenceErrorRates; dev?: SequenceErrorRates; epochs?: unknown[] }): void {
  const config: G2PCheckpointConfig = { task: "g2p", spec: r.spec, letters: r.vocabs.letters.toJSON(), phonemes: r.vocabs.phonemes.toJSON() };
  saveCheckpoint<G2PCheckpointConfig, G2PCheckpointMeta>(dir, {
    config, stateDict: r.model.module.stateDict(), meta: { test: r.test, dev: r.dev, epochs: r.epochs?.length },
  });
}

export function loadG2PCheckpoint(dir: string): { model: Seq2Seq; vocabs: G2PVocabs; meta: G2PCheckpointMeta | undefined } {
  const c = loadCheckpoint<G2PCheckpointConfig, G2PCheckpointMeta>(dir);
  if (c.config.task !== "g2p" || !c.config.spec || !Array.isArray(c.config.letters) || !Array.isArray(c.config.phonemes)) {
    throw new Error(`loadG2PCheckpoint: ${dir}/config.json is not a g2p checkpoint (task ${JSON.stringify(c.config.task)})`);
  }
  const model = new Seq2Seq(c.config.spec);
  model.module.loadStateDict(c.stateDict);
  model.module.eval();
  return { model, vocabs: { letters: new Vocabulary(c.config.letters), phonemes: new Vocabulary(c.config.phonemes) }, meta: c.meta };
}
