// Chapter 3, second part: a real alignment. A grapheme-to-phoneme Transformer's cross-attention
// says, for each phoneme it writes, which letters it reads: mostly one after the other, left to
// right, with silent letters skipped and letter pairs ("ph", "er") read together. The monotonic
// walk is measured as the correlation between the output position and the centre of its
// attention over the letters.
//
//   node dist/examples/guide/03-g2p-alignment.js [--small] [--out docs/guide/img] [--model runs/g2p-24/transformer]
//
// With --model it reads a trained G2P checkpoint (docs/SEQ2SEQ.md); without, it trains a tiny
// one on 3,000 words first (small setting: what the test runs, about 10 s).

import { explain, noGrad, tasks } from "../../src/index.js";
import { loadG2PCheckpoint } from "../../src/tasks/g2p-checkpoint.js";
import { encodeWord, g2pData, pronounce, trainG2P, type G2PVocabs } from "../../src/tasks/g2p.js";
import type { Seq2Seq } from "../../src/tasks/seq2seq.js";
import { cliOptions, type GuideOptions, isMain, resolve, saveSvg } from "./common.js";

export interface AlignmentResult {
  word: string;
  phonemes: string[];
  /** Cross-attention of the chosen layer, heads averaged: [phonemes + 1 (the decoder's start), letters]. */
  shape: [number, number];
  /** Largest |row sum - 1| of the attention matrix (softmax rows sum to 1). */
  rowSumError: number;
  /** Per word: correlation of the output position with the centre of its attention over the letters. */
  correlations: number[];
  pictures: string[];
}

/** Pearson correlation. */
function correlation(a: number[], b: number[]): number {
  const ma = a.reduce((x, y) => x + y, 0) / a.length, mb = b.reduce((x, y) => x + y, 0) / b.length;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += (a[i] - ma) * (b[i] - mb); aa += (a[i] - ma) ** 2; bb += (b[i] - mb) ** 2; }
  return ab / Math.sqrt(aa * bb);
}

/** The cross-attention of every decoder layer (heads averaged) while the model reads `word` and its own pronunciation. */
function crossAttention(model: Seq2Seq, v: G2PVocabs, word: string): { phonemes: string[]; layers: Float32Array[]; rows: number; cols: number } {
  const phonemes = pronounce(model, v, [word])[0];
  const batch = tasks.makeBatch([{ src: encodeWord(v, word), tgt: v.phonemes.encode(phonemes) }]);
  const { attentions } = noGrad(() => explain.recordAttention(model.module, () => model.logits(batch.src, batch.tgtIn)));
  const cross = attentions.filter((r) => r.module.includes("crossAttn"));
  const [, , rows, cols] = cross[0].weights.shape; // [1, H, T + 1, S]
  return { phonemes, layers: cross.map((r) => r.weights.mean(1).data as Float32Array), rows, cols };
}

export async function run(options: GuideOptions & { model?: string } = {}): Promise<AlignmentResult> {
  const { setting, out, log } = resolve(options);
  let model: Seq2Seq, vocabs: G2PVocabs;
  if (options.model) {
    ({ model, vocabs } = loadG2PCheckpoint(options.model));
    log(`G2P Transformer from ${options.model}`);
  } else {
    const small = setting === "small";
    const r = trainG2P({ model: "transformer", size: "tiny", epochs: small ? 4 : 8, trainLimit: small ? 3000 : 20000, devLimit: 100, testLimit: 300, lr: 3e-3, batchSize: 64, seed: 0 });
    ({ model, vocabs } = r);
    log(`tiny G2P Transformer trained on ${r.split.train} words: test PER ${(100 * r.test.per).toFixed(1)}%`);
  }
  // words from the test split, never seen in training, and one the reader knows
  const words = ["phoneme", ...g2pData({ testLimit: 8 }).test.map((e) => e.word)];
  const correlations: number[] = [];
  let first: ReturnType<typeof crossAttention> | null = null, best = 0;
  for (const word of words) {
    const a = crossAttention(model, vocabs, word);
    // output position i (having read the start token and i phonemes) writes phoneme i
    const T = a.phonemes.length, S = a.cols;
    const perLayer = a.layers.map((w) => correlation(
      Array.from({ length: T }, (_, i) => i),
      Array.from({ length: T }, (_, i) => Array.from({ length: S }, (_, j) => j * w[i * S + j]).reduce((x, y) => x + y, 0)),
    ));
    if (!first) { first = a; best = perLayer.indexOf(Math.max(...perLayer)); }
    correlations.push(Math.max(...perLayer));
  }
  const a = first!;
  const w = a.layers[best];
  let rowSumError = 0;
  for (let i = 0; i < a.rows; i++) {
    let s = 0;
    for (let j = 0; j < a.cols; j++) s += w[i * a.cols + j];
    rowSumError = Math.max(rowSumError, Math.abs(s - 1));
  }
  log(`"${words[0]}" -> ${a.phonemes.join(" ")}; cross-attention [${a.rows}, ${a.cols}] (decoder layer ${best})`);
  log(`correlation of output position and attention centre, ${words.length} words: ${correlations.map((c) => c.toFixed(2)).join(" ")}`);
  // row i of the decoder writes phoneme i (the last row, the end of the word)
  const letters = [...words[0]], rowLabels = [...a.phonemes, "</s>"];
  const pictures = [
    saveSvg(out, "03-g2p-alignment.svg", explain.attentionMatrixSvg(w, a.rows, a.cols, {
      rowLabels, colLabels: letters, title: `"${words[0]}": which letters each phoneme reads (layer ${best})`,
    })),
  ].filter((p): p is string => p !== null);
  return { word: words[0], phonemes: a.phonemes, shape: [a.rows, a.cols], rowSumError, correlations, pictures };
}

if (isMain(import.meta.url)) {
  const i = process.argv.indexOf("--model");
  await run({ ...cliOptions(process.argv.slice(2).filter((_, k, all) => all[k] !== "--model" && all[k - 1] !== "--model")), model: i >= 0 ? process.argv[i + 1] : undefined });
}
