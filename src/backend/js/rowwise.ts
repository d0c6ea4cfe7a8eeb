// Reference row-wise kernels over [rows, cols]: softmax, log-softmax, layer norm, cross-entropy.

import type { F32, I32 } from "../backend.js";

export function softmax(x: F32, rows: number, cols: number, out: F32): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > mx) mx = x[o + j];
    if (mx === -Infinity) {
      // every entry masked: define the row as zeros rather than NaN
      for (let j = 0; j < cols; j++) out[o + j] = 0;
      continue;
    }
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[o + j] - mx);
      out[o + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j < cols; j++) out[o + j] *= inv;
  }
}

export function softmaxBackward(y: F32, dy: F32, rows: number, cols: number, dx: F32): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += y[o + j] * dy[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
}

export function logSoftmax(x: F32, rows: number, cols: number, out: F32): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > mx) mx = x[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[o + j] - mx);
    const lse = mx + Math.log(s);
    for (let j = 0; j < cols; j++) out[o + j] = x[o + j] - lse;
  }
}

export function logSoftmaxBackward(y: F32, dy: F32, rows: number, cols: number, dx: F32): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += dy[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = dy[o + j] - Math.exp(y[o + j]) * s;
  }
}

export function layerNorm(x: F32, gamma: F32 | null, beta: F32 | null, rows: number, cols: number, eps: number,
  out: F32, mean: F32, rstd: F32): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mu = 0;
    for (let j = 0; j < cols; j++) mu += x[o + j];
    mu /= cols;
    let v = 0;
    for (let j = 0; j < cols; j++) {
      const d = x[o + j] - mu;
      v += d * d;
    }
    v /= cols; // biased variance, as LayerNorm uses
    const rs = 1 / Math.sqrt(v + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < cols; j++) {
      let y = (x[o + j] - mu) * rs;
      if (gamma) y *= gamma[j];
      if (beta) y += beta[j];
      out[o + j] = y;
    }
  }
}

export function layerNormBackward(x: F32, gamma: F32 | null, mean: F32, rstd: F32, dy: F32, rows: number, cols: number,
  dx: F32, dgamma: F32 | null, dbeta: F32 | null, dxAddend: F32 | null = null): void {
  if (dgamma) dgamma.fill(0);
  if (dbeta) dbeta.fill(0);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const mu = mean[r], rs = rstd[r];
    // dxhat = dy * gamma; dx = rs * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    let s1 = 0, s2 = 0;
    for (let j = 0; j < cols; j++) {
      const xh = (x[o + j] - mu) * rs;
      const g = gamma ? dy[o + j] * gamma[j] : dy[o + j];
      s1 += g;
      s2 += g * xh;
      if (dgamma) dgamma[j] += dy[o + j] * xh;
      if (dbeta) dbeta[j] += dy[o + j];
    }
    s1 /= cols;
    s2 /= cols;
    for (let j = 0; j < cols; j++) {
      const xh = (x[o + j] - mu) * rs;
      const g = gamma ? dy[o + j] * gamma[j] : dy[o + j];
      dx[o + j] = rs * (g - s1 - xh * s2) + (dxAddend ? dxAddend[o + j] : 0);
    }
  }
}

export function crossEntropy(logits: F32, targets: I32, rows: number, cols: number, ignoreIndex: number,
  labelSmoothing: number, loss: F32, dlogits: F32 | null, gradScale: number): void {
  const eps = labelSmoothing;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const t = targets[r];
    if (t === ignoreIndex) {
      loss[r] = 0;
      if (dlogits) for (let j = 0; j < cols; j++) dlogits[o + j] = 0;
      continue;
    }
    if (t < 0 || t >= cols) {
      throw new RangeError(`crossEntropy: target ${t} at row ${r} is out of range for ${cols} classes`);
    }
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (logits[o + j] > mx) mx = logits[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(logits[o + j] - mx);
    const lse = mx + Math.log(s);
    // loss = -(1-eps) * logp[t] - eps/C * sum_j logp[j]
    let sumLogp = 0;
    if (eps > 0) for (let j = 0; j < cols; j++) sumLogp += logits[o + j] - lse;
    loss[r] = -(1 - eps) * (logits[o + t] - lse) - (eps / cols) * sumLogp;
    if (dlogits) {
      for (let j = 0; j < cols; j++) {
        const p = Math.exp(logits[o + j] - lse);
        const q = (j === t ? 1 - eps : 0) + eps / cols;
        dlogits[o + j] = (p - q) * gradScale;
      }
    }
  }
}
