// Reference scaled dot-product attention, row by row (scores, scale, mask, softmax, weighted
// values), with the log-sum-exp saved so that backward recomputes the weights instead of
// storing the [T, T] matrix.

import type { AttentionArgs, AttentionBackwardArgs } from "../backend.js";

/** Offset of row t of head h in an array whose rows hold x values per head (rows ld apart in the [B, T, H, X] layout). */
function at(a: AttentionArgs, h: number, t: number, T: number, x: number, ld?: number): number {
  const H = a.heads ?? 0;
  if (H === 0) return (h * T + t) * x;
  return (Math.floor(h / H) * T + t) * (ld ?? H * x) + (h % H) * x;
}

function maskRow(a: AttentionArgs, h: number, i: number): number {
  if (!a.mask) return -1;
  const mb = Math.floor(h / a.maskHeadDiv) % a.maskBatch;
  return (mb * a.tq + i) * a.tk;
}

/** Scaled scores of query row i against all keys, masked; returns the row max. */
function scoresRow(a: AttentionArgs, h: number, i: number, s: Float64Array): number {
  const { q, k, d, tq, tk, scale } = a;
  const qo = at(a, h, i, tq, d, a.ldq);
  const mo = maskRow(a, h, i);
  let mx = -Infinity;
  // causal: query i (aligned to the end of the keys) sees keys j <= i + (tk - tq)
  const lastKey = a.causal ? i + (tk - tq) : tk - 1;
  for (let j = 0; j < tk; j++) {
    let v = -Infinity;
    if (j <= lastKey) {
      const ko = at(a, h, j, tk, d, a.ldk);
      let dot = 0;
      for (let p = 0; p < d; p++) dot += q[qo + p] * k[ko + p];
      v = dot * scale;
      if (mo >= 0) v += a.mask![mo + j];
    }
    s[j] = v;
    if (v > mx) mx = v;
  }
  return mx;
}

export function attention(a: AttentionArgs): void {
  const { v, out, lse, tq, tk, dv, bh } = a;
  const s = new Float64Array(tk);
  const acc = new Float64Array(dv);
  for (let h = 0; h < bh; h++) {
    for (let i = 0; i < tq; i++) {
      const mx = scoresRow(a, h, i, s);
      const oo = at(a, h, i, tq, dv);
      if (mx === -Infinity) {
        // fully masked row: output zeros, and a log-sum-exp that makes every weight 0
        for (let p = 0; p < dv; p++) out[oo + p] = 0;
        lse[h * tq + i] = Infinity;
        continue;
      }
      let sum = 0;
      acc.fill(0);
      for (let j = 0; j < tk; j++) {
        const w = Math.exp(s[j] - mx);
        if (w === 0) continue;
        sum += w;
        const vo = at(a, h, j, tk, dv, a.ldv);
        for (let p = 0; p < dv; p++) acc[p] += w * v[vo + p];
      }
      for (let p = 0; p < dv; p++) out[oo + p] = acc[p] / sum;
      lse[h * tq + i] = mx + Math.log(sum);
    }
  }
}

export function attentionBackward(a: AttentionBackwardArgs): void {
  const { q, k, v, out, gradOut: dout, gradQ: dq, gradK: dk, gradV: dV, lse, tq, tk, d, dv, bh, scale } = a;
  dq.fill(0);
  dk.fill(0);
  dV.fill(0);
  const s = new Float64Array(tk);
  for (let h = 0; h < bh; h++) {
    for (let i = 0; i < tq; i++) {
      const L = lse[h * tq + i];
      if (L === Infinity) continue;
      scoresRow(a, h, i, s);
      const oo = at(a, h, i, tq, dv);
      // D_i = dO_i . O_i
      let Di = 0;
      for (let p = 0; p < dv; p++) Di += dout[oo + p] * out[oo + p];
      const qo = at(a, h, i, tq, d, a.ldq);
      for (let j = 0; j < tk; j++) {
        const P = Math.exp(s[j] - L);
        if (P === 0) continue;
        const vo = at(a, h, j, tk, dv, a.ldv);
        let dP = 0;
        for (let p = 0; p < dv; p++) {
          dV[vo + p] += P * dout[oo + p];
          dP += dout[oo + p] * v[vo + p];
        }
        const dS = P * (dP - Di) * scale;
        const ko = at(a, h, j, tk, d, a.ldk);
        for (let p = 0; p < d; p++) {
          dq[qo + p] += dS * k[ko + p];
          dk[ko + p] += dS * q[qo + p];
        }
      }
    }
  }
}
