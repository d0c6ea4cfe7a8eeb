// Chapter 2: attention in five steps (Vaswani et al. 2017, eq. 1), written out op by op, and
// checked against the fused kernel that models use.
//
//   node dist/examples/guide/02-attention-five-steps.js [--small] [--out docs/guide/img]

import { attention, explain, F, manualSeed, randn, type Tensor } from "../../src/index.js";
import { cliOptions, type GuideOptions, isMain, resolve, saveSvg } from "./common.js";

/** The five steps for queries [B, H, Tq, D], keys [B, H, Tk, D], values [B, H, Tk, Dv]. */
export function fiveSteps(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null): { output: Tensor; weights: Tensor } {
  const scores = F.matmul(q, k, { transB: true }); //            1. scores Q K^T      [B, H, Tq, Tk]
  const scaled = F.mul(scores, 1 / Math.sqrt(q.shape[3])); //   2. scale by 1/sqrt(d_k)
  const masked = mask ? F.maskedFill(scaled, mask.eq(0), -Infinity) : scaled; // 3. mask: -inf where not allowed
  const weights = F.softmax(masked, -1); //                        4. softmax over the keys: rows sum to 1
  const output = F.matmul(weights, v); //                          5. weighted sum of values [B, H, Tq, Dv]
  return { output, weights };
}

export interface FiveStepsResult {
  /** Largest |five steps - fused kernel| over the outputs, without and with a causal mask. */
  maxDiff: number;
  maxDiffCausal: number;
  /** Row sums of the weights (all 1). */
  rowSums: number[];
  /** Weights above the diagonal under the causal mask (all 0). */
  futureWeight: number;
  tokens: string[];
  weights: Float32Array;
  pictures: string[];
}

export async function run(options: GuideOptions = {}): Promise<FiveStepsResult> {
  const { setting, out, log } = resolve(options);
  manualSeed(0);
  const tokens = ["the", "cat", "sat", "on", "the", "mat"];
  const T = tokens.length, D = setting === "full" ? 64 : 16;
  const [q, k, v] = [randn([2, 4, T, D]), randn([2, 4, T, D]), randn([2, 4, T, D])];

  const explicit = fiveSteps(q, k, v, null);
  const fused = F.scaledDotProductAttention(q, k, v); // the backend's kernel: never forms [T, T]
  const causal = attention.causalMask(T); // [T, T], 1 where key j <= query i
  const explicitC = fiveSteps(q, k, v, causal);
  const fusedC = F.scaledDotProductAttention(q, k, v, { causal: true });

  const maxAbs = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item();
  const maxDiff = maxAbs(explicit.output, fused), maxDiffCausal = maxAbs(explicitC.output, fusedC);
  const rowSums = Array.from(explicit.weights.sum(-1).data as Float32Array);
  const w = explicitC.weights.data as Float32Array;
  let futureWeight = 0;
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) futureWeight += Math.abs(w[i * T + j]); // batch 0, head 0
  log(`five steps vs fused kernel: max |difference| ${maxDiff.toExponential(2)} (causal: ${maxDiffCausal.toExponential(2)})`);
  log(`rows of the weights sum to ${Math.min(...rowSums).toFixed(6)}..${Math.max(...rowSums).toFixed(6)}; weight on future tokens under the causal mask: ${futureWeight}`);

  const first = (x: Tensor) => (x.data as Float32Array).slice(0, T * T); // batch 0, head 0
  const pictures = [
    saveSvg(out, "02-weights.svg", explain.attentionMatrixSvg(first(explicit.weights), T, T, { rowLabels: tokens, colLabels: tokens, title: "softmax(QK^T/sqrt(d)), one head" })),
    saveSvg(out, "02-weights-causal.svg", explain.attentionMatrixSvg(first(explicitC.weights), T, T, { rowLabels: tokens, colLabels: tokens, title: "with the causal mask" })),
  ].filter((p): p is string => p !== null);
  return { maxDiff, maxDiffCausal, rowSums, futureWeight, tokens, weights: first(explicit.weights), pictures };
}

if (isMain(import.meta.url)) await run(cliOptions());
