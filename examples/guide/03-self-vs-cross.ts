// Chapter 3: self-attention and cross-attention are the same operation fed differently. In
// self-attention the queries, keys and values all come from one sequence (a [T, T] matrix);
// in cross-attention the decoder's tokens ask (queries) and the encoder's output answers
// (keys and values): a [T_target, T_source] matrix. A Transformer trained to reverse digit
// strings shows it: its cross-attention for output position i looks at source position S-1-i.
//
//   node dist/examples/guide/03-self-vs-cross.js [--small] [--out docs/guide/img]

import { explain, noGrad, tasks } from "../../src/index.js";
import { cliOptions, type GuideOptions, isMain, resolve, saveSvg } from "./common.js";

export interface SelfCrossResult {
  /** Exact-match accuracy on held-out sequences. */
  exactMatch: number;
  /** Shapes of the recorded weights (batch 0, head mean): encoder self, decoder self, cross. */
  shapes: { encoderSelf: number[]; decoderSelf: number[]; cross: number[] };
  /** Weight the decoder's self-attention puts on later positions (0: it is causal). */
  decoderFutureWeight: number;
  /** Per cross-attention layer and target position i < S: the centre of its attention over the source, sum_j j w_ij. */
  centres: number[][];
  /** Per layer: correlation of the centre with i (-1: it walks from the last source position to the first). */
  centreCorrelation: number[];
  pictures: string[];
}

export async function run(options: GuideOptions = {}): Promise<SelfCrossResult> {
  const { setting, out, log } = resolve(options);
  const full = setting === "full";
  const task = tasks.runCopyTask({ mode: "reverse", train: full ? 4000 : 2000, test: 100, epochs: full ? 8 : 6, minLen: 4, maxLen: 8, seed: 1 });
  const { model, vocab } = task;
  log(`reverse task: ${task.parameters} parameters, held-out exact match ${(100 * task.test.exactMatch).toFixed(1)}%`);

  // one held-out sequence, run with teacher forcing while recording every attention call
  const source = [3, 1, 4, 1, 5, 9, 2, 6].map((d) => vocab.id(String(d)));
  const batch = tasks.makeBatch([{ src: source, tgt: [...source].reverse() }]);
  const { attentions } = noGrad(() => explain.recordAttention(model.module, () => model.logits(batch.src, batch.tgtIn)));
  const S = source.length, T = S + 1; // the decoder reads bos + the target
  const headMean = (w: typeof attentions[number]["weights"]) => w.mean(1).data as Float32Array; // [1, H, Tq, Tk] -> [1, Tq, Tk]
  const byKind = (k: string) => attentions.filter((r) => r.module.includes(k));
  const encSelf = attentions.filter((r) => r.module.startsWith("encoder")), decSelf = byKind("selfAttn").filter((r) => r.module.startsWith("decoder"));
  const cross = byKind("crossAttn");

  const dec = headMean(decSelf[0].weights);
  let decoderFutureWeight = 0;
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) decoderFutureWeight += dec[i * T + j];
  // query i (having read bos + i target tokens) predicts target[i] = source[S-1-i]: where does it look?
  // The centre of its attention, sum_j j * w_ij, should walk from the end of the source to the start.
  const correlation = (a: number[], b: number[]) => {
    const ma = a.reduce((x, y) => x + y, 0) / a.length, mb = b.reduce((x, y) => x + y, 0) / b.length;
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < a.length; i++) { ab += (a[i] - ma) * (b[i] - mb); aa += (a[i] - ma) ** 2; bb += (b[i] - mb) ** 2; }
    return ab / Math.sqrt(aa * bb);
  };
  const centres = cross.map((r) => {
    const w = headMean(r.weights);
    return Array.from({ length: S }, (_, i) => Array.from({ length: S }, (_, j) => j * w[i * S + j]).reduce((x, y) => x + y, 0));
  });
  const centreCorrelation = centres.map((c) => correlation(c, Array.from({ length: S }, (_, i) => i)));
  log(`cross-attention centre per target position: ${centres.map((c, l) => `layer ${l}: ${c.map((x) => x.toFixed(1)).join(" ")} (correlation with the position ${centreCorrelation[l].toFixed(2)})`).join("; ")}`);

  const srcTok = vocab.decode(source);
  const tgtTok = ["<s>", ...srcTok.slice().reverse()];
  const last = <T>(xs: T[]) => xs[xs.length - 1];
  const best = centreCorrelation.indexOf(Math.min(...centreCorrelation));
  const pictures = [
    saveSvg(out, "03-encoder-self.svg", explain.attentionMatrixSvg(headMean(last(encSelf).weights), S, S, { rowLabels: srcTok, colLabels: srcTok, title: "encoder self-attention (last layer)" })),
    saveSvg(out, "03-decoder-self.svg", explain.attentionMatrixSvg(dec, T, T, { rowLabels: tgtTok, colLabels: tgtTok, title: "decoder self-attention (causal)" })),
    saveSvg(out, "03-cross.svg", explain.attentionMatrixSvg(headMean(cross[best].weights), T, S, { rowLabels: tgtTok, colLabels: srcTok, title: `cross-attention (decoder layer ${best})` })),
  ].filter((p): p is string => p !== null);
  return {
    exactMatch: task.test.exactMatch,
    shapes: { encoderSelf: last(encSelf).weights.shape.slice(2), decoderSelf: decSelf[0].weights.shape.slice(2), cross: cross[0].weights.shape.slice(2) },
    decoderFutureWeight, centres, centreCorrelation, pictures,
  };
}

if (isMain(import.meta.url)) await run(cliOptions());
