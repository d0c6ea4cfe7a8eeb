// Chapter 4: multi-head attention (Vaswani et al. 2017, §3.2.2). Project the tokens to
// queries, keys and values, split the C channels into H heads of C/H, attend in each head on
// its own, concatenate the heads and project back. tsformer's MultiHeadAttention does this
// without the split/merge copies (its kernel reads head h from columns h*D..(h+1)*D); here
// the heads are split by hand and the result compared.
//
//   node dist/examples/guide/04-multi-head.js [--small] [--out docs/guide/img]

import { attention, explain, manualSeed, noGrad, randn, type Tensor } from "../../src/index.js";
import { fiveSteps } from "./02-attention-five-steps.js";
import { cliOptions, type GuideOptions, isMain, resolve, saveSvg } from "./common.js";

/** Multi-head attention written out: x [B, T, C] -> [B, T, C] through the module's own weights. */
export function multiHeadByHand(mha: attention.MultiHeadAttention, x: Tensor): { output: Tensor; weights: Tensor } {
  const [B, T, C] = x.shape, H = mha.numHeads, D = C / H;
  const split = (y: Tensor) => y.reshape([B, T, H, D]).permute([0, 2, 1, 3]); // [B, T, C] -> [B, H, T, D]
  const q = split(mha.query.forward(x)), k = split(mha.key.forward(x)), v = split(mha.value.forward(x));
  const { output, weights } = fiveSteps(q, k, v, null); // every head on its own: [B, H, T, D], weights [B, H, T, T]
  const merged = output.permute([0, 2, 1, 3]).reshape([B, T, C]); // concatenate the heads: [B, H, T, D] -> [B, T, C]
  return { output: mha.out.forward(merged), weights };
}

export interface MultiHeadResult {
  /** Largest |by hand - MultiHeadAttention| over the outputs. */
  maxDiff: number;
  /** Largest |by hand - recorded| over the weights. */
  maxWeightDiff: number;
  heads: number;
  /** Mean |weights of head h - weights of head 0|, h = 1..H-1: the heads look at different things. */
  headDistances: number[];
  pictures: string[];
}

export async function run(options: GuideOptions = {}): Promise<MultiHeadResult> {
  const { setting, out, log } = resolve(options);
  manualSeed(0);
  const tokens = ["we", "read", "the", "notes", "and", "run", "the", "code"];
  const T = tokens.length, C = setting === "full" ? 64 : 32, H = 4;
  const mha = new attention.MultiHeadAttention(C, H);
  const x = randn([1, T, C]);
  return noGrad(() => {
    const mine = multiHeadByHand(mha, x);
    const rec = explain.recordAttention(mha, () => mha.forward(x, x, x)); // self-attention: queries, keys, values all from x
    const fused = mha.forward(x, x, x); // nobody records: the fused kernel runs
    const maxDiff = mine.output.sub(fused).abs().max().item();
    const recorded = rec.attentions[0].weights; // [1, H, T, T]
    const maxWeightDiff = mine.weights.sub(recorded).abs().max().item();
    const w = recorded.data as Float32Array;
    const headDistances: number[] = [];
    for (let h = 1; h < H; h++) {
      let s = 0;
      for (let i = 0; i < T * T; i++) s += Math.abs(w[h * T * T + i] - w[i]);
      headDistances.push(s / (T * T));
    }
    log(`${H} heads of ${C / H}: by hand vs MultiHeadAttention max |difference| ${maxDiff.toExponential(2)}, weights ${maxWeightDiff.toExponential(2)}`);
    log(`mean |head h - head 0| per weight: ${headDistances.map((d) => d.toFixed(3)).join(", ")}`);
    const pictures: string[] = [];
    for (let h = 0; h < H; h++) {
      const p = saveSvg(out, `04-head-${h}.svg`, explain.attentionMatrixSvg(w.slice(h * T * T, (h + 1) * T * T), T, T, {
        rowLabels: tokens, colLabels: tokens, title: `head ${h}`, cell: 18,
      }));
      if (p) pictures.push(p);
    }
    return { maxDiff, maxWeightDiff, heads: H, headDistances, pictures };
  });
}

if (isMain(import.meta.url)) await run(cliOptions());
