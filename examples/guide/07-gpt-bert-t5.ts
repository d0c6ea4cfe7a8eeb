// Chapter 7: three ways to use the blocks. GPT (Radford et al. 2019) keeps only the decoder
// (causal self-attention, no cross-attention) and predicts the next token; BERT (Devlin et al.
// 2019) keeps only the encoder (every token sees every token) and fills in masked tokens; T5
// (Raffel et al. 2020) keeps both and maps text to text. The attention each one records, and
// which logits move when one input token changes, show the difference.
//
//   node dist/examples/guide/07-gpt-bert-t5.js [--small] [--out docs/guide/img]

import { explain, manualSeed, models, noGrad, type Tensor, tensor } from "../../src/index.js";
import { cliOptions, type GuideOptions, isMain, resolve, saveSvg } from "./common.js";

/** reach[i][j]: does changing input token j change the logits at output position i? */
export function tokenReach(f: (ids: Tensor) => Tensor, ids: number[], vocab: number): boolean[][] {
  const T = ids.length;
  const run = (xs: number[]) => f(tensor(xs, [1, T], { dtype: "int32" })).data as Float32Array; // [1, T', V]
  const base = run(ids), rows = base.length / vocab;
  const reach = Array.from({ length: rows }, () => new Array<boolean>(T).fill(false));
  for (let j = 0; j < T; j++) {
    const y = run(ids.map((t, k) => (k === j ? (t + 1) % vocab : t)));
    for (let i = 0; i < rows; i++) for (let v = 0; v < vocab; v++) if (Math.abs(y[i * vocab + v] - base[i * vocab + v]) > 1e-5) reach[i][j] = true;
  }
  return reach;
}

export interface FamiliesResult {
  parameters: { gpt: number; bert: number; t5: number };
  /** Attention weights above the diagonal (the future), summed over layer 0's heads. */
  futureWeight: { gpt: number; bert: number };
  /** Recorded weight shapes [Tq, Tk]. */
  shapes: { gpt: number[]; bert: number[] };
  reach: { gpt: boolean[][]; bert: boolean[][]; t5Source: boolean[][]; t5Target: boolean[][] };
  pictures: string[];
}

const future = (w: Tensor): number => {
  const [, H, Tq, Tk] = w.shape, d = w.data as Float32Array;
  let s = 0;
  for (let h = 0; h < H; h++) for (let i = 0; i < Tq; i++) for (let j = i + 1; j < Tk; j++) s += d[(h * Tq + i) * Tk + j];
  return s;
};

export async function run(options: GuideOptions = {}): Promise<FamiliesResult> {
  const { setting, out, log } = resolve(options);
  manualSeed(0);
  const V = setting === "full" ? 256 : 64;
  const gpt = new models.GPT2LMHeadModel(models.gptConfig("gpt-tiny", { vocabSize: V }));
  const bert = new models.BertForMaskedLM(models.bertConfig("bert-tiny", { vocabSize: V }));
  const t5 = new models.T5ForConditionalGeneration(models.t5Config("t5-tiny", { vocabSize: V }));
  for (const m of [gpt, bert, t5]) m.eval();
  const src = [5, 17, 9, 23, 11, 4, 30, 2], tgt = [0, 12, 8, 19, 3, 7];
  const T = src.length, Tt = tgt.length;
  const ids = (xs: number[]) => tensor(xs, [1, xs.length], { dtype: "int32" });

  return noGrad(() => {
    const g = explain.recordAttention(gpt, () => gpt.forward(ids(src))).attentions;
    const b = explain.recordAttention(bert, () => bert.forward(ids(src))).attentions;
    // (T5's attention is recorded the same way; here its structure is shown from the outside, by reach)
    const shape = (r: { weights: Tensor }) => r.weights.shape.slice(2);

    const reach = {
      gpt: tokenReach((x) => gpt.forward(x).logits, src, V),
      bert: tokenReach((x) => bert.forward(x).logits, src, V),
      t5Source: tokenReach((x) => t5.forward(x, { decoderInputIds: ids(tgt) }).logits, src, V),
      t5Target: tokenReach((x) => t5.forward(ids(src), { decoderInputIds: x }).logits, tgt, V),
    };
    const result: FamiliesResult = {
      parameters: { gpt: gpt.numParameters(), bert: bert.numParameters(), t5: t5.numParameters() },
      futureWeight: { gpt: future(g[0].weights), bert: future(b[0].weights) },
      shapes: { gpt: shape(g[0]), bert: shape(b[0]) },
      reach, pictures: [],
    };
    const show = (m: boolean[][]) => m.map((r) => r.map((v) => (v ? "x" : ".")).join("")).join(" ");
    log(`parameters (vocabulary ${V}): GPT ${result.parameters.gpt}, BERT ${result.parameters.bert}, T5 ${result.parameters.t5}`);
    log(`attention on later tokens (layer 0, all heads): GPT ${result.futureWeight.gpt.toFixed(3)}, BERT ${result.futureWeight.bert.toFixed(3)}`);
    log(`which logits (rows) each input token reaches (columns): GPT ${show(reach.gpt)}; BERT ${show(reach.bert)}; T5 source->decoder ${show(reach.t5Source)}; T5 target ${show(reach.t5Target)}`);

    const meanHeads = (w: Tensor) => w.mean(1).data as Float32Array; // [1, H, Tq, Tk] -> [1, Tq, Tk]
    const s = src.map(String), tt = tgt.map(String);
    const bits = (m: boolean[][]) => m.flat().map((v) => (v ? 1 : 0));
    const pics = [
      saveSvg(out, "07-gpt.svg", explain.attentionMatrixSvg(meanHeads(g[0].weights), T, T, { rowLabels: s, colLabels: s, title: "GPT: causal self-attention" })),
      saveSvg(out, "07-bert.svg", explain.attentionMatrixSvg(meanHeads(b[0].weights), T, T, { rowLabels: s, colLabels: s, title: "BERT: bidirectional" })),
      saveSvg(out, "07-t5-source.svg", explain.attentionMatrixSvg(bits(reach.t5Source), Tt, T, { rowLabels: tt, colLabels: s, title: "T5: source token -> decoder logits" })),
      saveSvg(out, "07-t5-target.svg", explain.attentionMatrixSvg(bits(reach.t5Target), Tt, Tt, { rowLabels: tt, colLabels: tt, title: "T5: decoder input -> decoder logits" })),
    ];
    result.pictures = pics.filter((p): p is string => p !== null);
    return result;
  });
}

if (isMain(import.meta.url)) await run(cliOptions());
