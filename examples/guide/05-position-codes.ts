// Chapter 5: position codes. Attention is blind to order (permute the tokens and the outputs
// permute the same way), so the position is added to each token. The binary code writes p in
// bits: bit b flips every 2^b positions. The sinusoidal code (Vaswani et al. 2017, §3.5) is its
// smooth version, PE(p, 2i) = sin(p w_i), PE(p, 2i+1) = cos(p w_i), w_i = 10000^(-2i/d), and
// has the property the paper chose it for: PE(p + k) is a fixed rotation M_k of PE(p), the same
// for every p, so "k positions later" is a linear map a layer can learn.
//
//   node dist/examples/guide/05-position-codes.js [--small] [--out docs/guide/img]

import { explain, F, position } from "../../src/index.js";
import { cliOptions, type GuideOptions, isMain, resolve, savePng, saveSvg, tableImage } from "./common.js";

/** M_k applied to one row: each (sin, cos) pair rotated by the angle k * w_i. */
export function rotate(row: ArrayLike<number>, k: number, dim: number, base = 10000): Float64Array {
  const out = new Float64Array(dim);
  for (let i = 0; i < dim; i += 2) {
    const a = k / Math.pow(base, i / dim), c = Math.cos(a), s = Math.sin(a);
    // sin(x + a) = sin x cos a + cos x sin a;  cos(x + a) = cos x cos a - sin x sin a
    out[i] = row[i] * c + row[i + 1] * s;
    out[i + 1] = row[i + 1] * c - row[i] * s;
  }
  return out;
}

export interface PositionResult {
  /** Every position has a different binary code. */
  binaryDistinct: boolean;
  /** Bit b of the binary table flips every 2^b positions. */
  binaryPeriodsOk: boolean;
  /** max over p, k of |M_k PE(p) - PE(p + k)|. */
  rotationError: number;
  /** max over k of (max - min over p) of PE(p) . PE(p + k): the dot product depends on k only. */
  dotSpread: number;
  /** PE(p) . PE(p + k) for k = 0..length-1 at p = 0: falls off with distance. */
  dotByOffset: number[];
  pictures: string[];
}

export async function run(options: GuideOptions = {}): Promise<PositionResult> {
  const { setting, out, log } = resolve(options);
  const length = setting === "full" ? 128 : 64, dim = setting === "full" ? 128 : 64, bits = Math.log2(length);
  const bin = position.binaryTable(length, bits); // [length, bits], least significant bit first
  const sin = position.sinusoidalTable(length, dim); // [length, dim]
  const b = bin.data as Float32Array, pe = sin.data as Float32Array;

  const codes = new Set(Array.from({ length }, (_, p) => Array.from(b.subarray(p * bits, (p + 1) * bits)).join("")));
  let binaryPeriodsOk = true;
  for (let p = 1; p < length; p++) {
    for (let k = 0; k < bits; k++) {
      const flips = b[p * bits + k] !== b[(p - 1) * bits + k];
      if (flips !== (p % 2 ** k === 0)) binaryPeriodsOk = false;
    }
  }

  let rotationError = 0;
  for (const k of [1, 2, 5, 17]) {
    for (let p = 0; p + k < length; p++) {
      const r = rotate(pe.subarray(p * dim, (p + 1) * dim), k, dim);
      for (let i = 0; i < dim; i++) rotationError = Math.max(rotationError, Math.abs(r[i] - pe[(p + k) * dim + i]));
    }
  }
  const gram = F.matmul(sin, sin, { transB: true }).data as Float32Array; // [length, length]: PE(p) . PE(q)
  let dotSpread = 0;
  for (let k = 0; k < length / 2; k++) {
    let lo = Infinity, hi = -Infinity;
    for (let p = 0; p + k < length; p++) { const v = gram[p * length + p + k]; lo = Math.min(lo, v); hi = Math.max(hi, v); }
    dotSpread = Math.max(dotSpread, hi - lo);
  }
  const dotByOffset = Array.from(gram.subarray(0, length));
  log(`binary: ${codes.size} distinct codes for ${length} positions; bit b flips every 2^b positions: ${binaryPeriodsOk}`);
  log(`sinusoidal: max |M_k PE(p) - PE(p+k)| = ${rotationError.toExponential(2)}; PE(p).PE(p+k) varies with p by at most ${dotSpread.toExponential(2)}`);
  log(`PE(0).PE(k) for k = 0, 1, 2, 4, 8, 16, 32: ${[0, 1, 2, 4, 8, 16, 32].map((k) => dotByOffset[k].toFixed(1)).join(", ")}`);

  const scaled = (x: Float32Array) => x.map((v) => (v + 1) / 2); // [-1, 1] -> [0, 1] so both tables share a colour scale
  const pictures = [
    await savePng(out, "05-binary.png", tableImage(b, length, bits, 8)),
    await savePng(out, "05-sinusoidal.png", tableImage(scaled(pe), length, dim, 4)),
    await savePng(out, "05-dot-products.png", tableImage(gram, length, length, 4)),
    saveSvg(out, "05-dot-by-offset.svg", explain.lineChartSvg([{ name: "PE(0) . PE(k)", x: dotByOffset.map((_, k) => k), y: dotByOffset }], {
      title: "similarity of positions k apart", xLabel: "offset k", yLabel: "dot product",
    })),
  ].filter((p): p is string => p !== null);
  return { binaryDistinct: codes.size === length, binaryPeriodsOk, rotationError, dotSpread, dotByOffset, pictures };
}

if (isMain(import.meta.url)) await run(cliOptions());
