// Score functions: how well does each key match a query? (Luong et al. 2015, §3.1;
// Bahdanau et al. 2015, §3.1; Graves et al. 2014, §3.3.1). Each module maps
// queries [B, Tq, Dq] and keys [B, Tk, Dk] to scores [B, Tq, Tk]; `attend` turns
// scores into weights and an output through the shared steps 3-5.

import { Linear } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { add, mul, tanh, sqrt, maximum } from "../ops/elementwise.js";
import { matmul } from "../ops/matmul.js";
import { sum } from "../ops/reduce.js";
import { reshape, unsqueeze } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { type AttentionResult, attendWithScores } from "./attend.js";

/** Anything that scores queries against keys. */
export interface ScoreFunction {
  score(query: Tensor, keys: Tensor): Tensor;
}

function check3d(op: string, q: Tensor, k: Tensor): void {
  if (q.ndim !== 3 || k.ndim !== 3 || q.shape[0] !== k.shape[0]) {
    throw new RangeError(`${op}: expected queries [B, Tq, Dq] and keys [B, Tk, Dk], got ${formatShape(q.shape)} and ${formatShape(k.shape)}`);
  }
}

/** Score, then mask, softmax and weighted values: one call for every score function. */
export function attend(scorer: ScoreFunction, query: Tensor, keys: Tensor, values: Tensor, mask?: Tensor | null): AttentionResult {
  return attendWithScores(scorer.score(query, keys), values, mask);
}

/** Luong "dot": score = q . k (no scaling). */
export class DotScore extends Module implements ScoreFunction {
  score(q: Tensor, k: Tensor): Tensor {
    check3d("DotScore", q, k);
    if (q.shape[2] !== k.shape[2]) throw new RangeError(`DotScore: query size ${q.shape[2]} differs from key size ${k.shape[2]}`);
    return matmul(q, k, { transB: true });
  }
}

/** Scaled dot product: score = q . k / sqrt(d) (Vaswani et al.). */
export class ScaledDotScore extends Module implements ScoreFunction {
  score(q: Tensor, k: Tensor): Tensor {
    return mul(new DotScore().score(q, k), 1 / Math.sqrt(q.shape[2]));
  }
}

/** Luong "general": score = q W k^T, a bilinear form. */
export class GeneralScore extends Module implements ScoreFunction {
  W: Linear;
  constructor(queryDim: number, keyDim: number) {
    super();
    this.W = new Linear(keyDim, queryDim, { bias: false });
  }
  score(q: Tensor, k: Tensor): Tensor {
    check3d("GeneralScore", q, k);
    return matmul(q, this.W.forward(k), { transB: true }); // q [B,Tq,Dq] . (W k) [B,Tk,Dq]^T
  }
}

/** Bahdanau "additive" / Luong "concat": score = v . tanh(W1 q + W2 k). */
export class AdditiveScore extends Module implements ScoreFunction {
  W1: Linear;
  W2: Linear;
  v: Linear;
  constructor(queryDim: number, keyDim: number, hiddenDim: number) {
    super();
    this.W1 = new Linear(queryDim, hiddenDim, { bias: false });
    this.W2 = new Linear(keyDim, hiddenDim, { bias: true });
    this.v = new Linear(hiddenDim, 1, { bias: false });
  }
  score(q: Tensor, k: Tensor): Tensor {
    check3d("AdditiveScore", q, k);
    const [B, Tq] = q.shape, Tk = k.shape[1];
    const hq = unsqueeze(this.W1.forward(q), 2); // [B, Tq, 1, H]
    const hk = unsqueeze(this.W2.forward(k), 1); // [B, 1, Tk, H]
    return reshape(this.v.forward(tanh(add(hq, hk))), [B, Tq, Tk]); // [B, Tq, Tk]
  }
}

/**
 * Luong "location": weights from the query alone, a = W q over a fixed number of source
 * positions (the keys only set how many are used).
 */
export class LocationScore extends Module implements ScoreFunction {
  W: Linear;
  constructor(queryDim: number, readonly maxKeys: number) {
    super();
    this.W = new Linear(queryDim, maxKeys);
  }
  score(q: Tensor, k: Tensor): Tensor {
    check3d("LocationScore", q, k);
    const Tk = k.shape[1];
    if (Tk > this.maxKeys) throw new RangeError(`LocationScore: ${Tk} keys exceed the ${this.maxKeys} positions it was built for`);
    return this.W.forward(q).slice(2, 0, Tk); // [B, Tq, Tk]
  }
}

/**
 * Content-based addressing of Neural Turing Machines: score = beta * cosine(q, k), where
 * the key strength beta >= 1 sharpens the focus (here a learned scalar, or given).
 */
export class ContentScore extends Module implements ScoreFunction {
  constructor(readonly beta = 1, readonly eps = 1e-8) {
    super();
  }
  score(q: Tensor, k: Tensor, beta?: Tensor | number): Tensor {
    check3d("ContentScore", q, k);
    const qn = sqrt(maximum(sum(mul(q, q), -1, true), this.eps)); // [B, Tq, 1]
    const kn = sqrt(maximum(sum(mul(k, k), -1, true), this.eps)); // [B, Tk, 1]
    const cos = matmul(q.div(qn), k.div(kn), { transB: true });
    return mul(cos, beta ?? this.beta);
  }
}

