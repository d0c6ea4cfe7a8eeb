// Chapter 6: the encoder block and the decoder block (Vaswani et al. 2017, §3.1, Fig. 1).
// Encoder block: self-attention, then a position-wise feed-forward network, each wrapped in a
// residual connection and a LayerNorm. Decoder block: masked (causal) self-attention,
// cross-attention over the encoder's output, feed-forward. Two properties follow and are
// measured here by changing one input token at a time and seeing which outputs move:
//   - an encoder block lets every position see every other (and, without position codes, is
//     permutation-equivariant: shuffle the tokens and the outputs shuffle the same way);
//   - a decoder block's output i depends on inputs 0..i only.
//
//   node dist/examples/guide/06-encoder-decoder.js [--small] [--out docs/guide/img]

import { explain, manualSeed, noGrad, randn, type Tensor, transformer } from "../../src/index.js";
import { cliOptions, type GuideOptions, isMain, resolve, saveSvg } from "./common.js";

/**
 * influence[i][j] = max |f(x)_i - f(x')_i| where x' is x with position j replaced by noise:
 * which outputs (rows) an input position (columns) reaches. f maps [1, T, C] -> [1, T', C'].
 */
export function influence(f: (x: Tensor) => Tensor, x: Tensor): number[][] {
  const [, T, C] = x.shape;
  const base = f(x).data as Float32Array;
  const rows = base.length / C; // output positions (C' = C here)
  const out = Array.from({ length: rows }, () => new Array<number>(T).fill(0));
  for (let j = 0; j < T; j++) {
    const x2 = x.clone();
    const noise = randn([C]).data as Float32Array;
    (x2.data as Float32Array).set(noise, j * C);
    const y = f(x2).data as Float32Array;
    for (let i = 0; i < rows; i++) for (let c = 0; c < C; c++) out[i][j] = Math.max(out[i][j], Math.abs(y[i * C + c] - base[i * C + c]));
  }
  return out;
}

export interface BlocksResult {
  encoderParams: number;
  decoderParams: number;
  /** The counts from the paper's formula: 4(C^2 + C) per attention, 2CF + F + C per FFN, 2C per LayerNorm. */
  encoderParamsFormula: number;
  decoderParamsFormula: number;
  encoderInfluence: number[][];
  decoderInfluence: number[][];
  /** max |enc(permuted x) - permuted enc(x)|. */
  permutationError: number;
  pictures: string[];
}

export async function run(options: GuideOptions = {}): Promise<BlocksResult> {
  const { setting, out, log } = resolve(options);
  manualSeed(0);
  const C = setting === "full" ? 64 : 32, F = 4 * C, T = 8, S = 6;
  const config: transformer.LayerConfig = { dModel: C, numHeads: 4, dimFeedforward: F, dropout: 0, activation: "relu", normFirst: false, layerNormEps: 1e-5 };
  const enc = new transformer.TransformerEncoderLayer(config), dec = new transformer.TransformerDecoderLayer(config);
  enc.eval(); dec.eval();
  const attn = 4 * (C * C + C), ffn = 2 * C * F + F + C, ln = 2 * C;
  const encoderParamsFormula = attn + ffn + 2 * ln, decoderParamsFormula = 2 * attn + ffn + 3 * ln;

  return noGrad(() => {
    const x = randn([1, T, C]), memory = randn([1, S, C]);
    const encoderInfluence = influence((h) => enc.forward(h), x); // [B, T, C] -> [B, T, C]
    const decoderInfluence = influence((h) => dec.forward(h, memory), x); // [B, T, C] and memory [B, S, C] -> [B, T, C]

    const perm = [3, 0, 7, 1, 6, 2, 5, 4];
    const permute = (t: Tensor) => {
      const d = t.data as Float32Array, o = new Float32Array(d.length);
      perm.forEach((p, i) => o.set(d.subarray(p * C, (p + 1) * C), i * C));
      return o;
    };
    const a = enc.forward(x), xp = x.clone();
    (xp.data as Float32Array).set(permute(x));
    const b = enc.forward(xp).data as Float32Array, pa = permute(a);
    let permutationError = 0;
    for (let i = 0; i < b.length; i++) permutationError = Math.max(permutationError, Math.abs(b[i] - pa[i]));

    log(`encoder block: ${enc.numParameters()} parameters (formula ${encoderParamsFormula}); decoder block: ${dec.numParameters()} (formula ${decoderParamsFormula})`);
    log(`encoder: permute the inputs and the outputs permute the same way: max |difference| ${permutationError.toExponential(2)}`);
    const reach = (m: number[][]) => m.map((r) => r.map((v) => (v > 1e-6 ? "x" : ".")).join("")).join(" ");
    log(`which outputs (rows) each input reaches (columns): encoder ${reach(encoderInfluence)}; decoder ${reach(decoderInfluence)}`);

    const labels = Array.from({ length: T }, (_, i) => `${i}`);
    const svg = (m: number[][], title: string) => explain.attentionMatrixSvg(m.flat(), T, T, { rowLabels: labels, colLabels: labels, title, colors: "viridis" });
    const pictures = [
      saveSvg(out, "06-encoder-influence.svg", svg(encoderInfluence, "encoder: output (row) change per input (column)")),
      saveSvg(out, "06-decoder-influence.svg", svg(decoderInfluence, "decoder: output (row) change per input (column)")),
    ].filter((p): p is string => p !== null);
    return {
      encoderParams: enc.numParameters(), decoderParams: dec.numParameters(), encoderParamsFormula, decoderParamsFormula,
      encoderInfluence, decoderInfluence, permutationError, pictures,
    };
  });
}

if (isMain(import.meta.url)) await run(cliOptions());
