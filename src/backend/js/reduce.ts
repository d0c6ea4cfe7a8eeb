// Reference reductions over the middle axis of a [outer, size, inner] view.

import type { F32, I32 } from "../backend.js";

export function reduce(op: "sum" | "max" | "min", x: F32, outer: number, size: number, inner: number, out: F32): void {
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    const ob = o * inner;
    if (op === "sum") {
      for (let j = 0; j < inner; j++) out[ob + j] = 0;
      for (let s = 0; s < size; s++) {
        const row = base + s * inner;
        for (let j = 0; j < inner; j++) out[ob + j] += x[row + j];
      }
    } else {
      const better = op === "max" ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
      for (let j = 0; j < inner; j++) {
        let best = x[base + j];
        for (let s = 1; s < size && !Number.isNaN(best); s++) {
          const v = x[base + s * inner + j];
          if (better(v, best) || Number.isNaN(v)) best = v;
        }
        out[ob + j] = best;
      }
    }
  }
}

export function argReduce(op: "argmax" | "argmin", x: F32, outer: number, size: number, inner: number, out: I32): void {
  const better = op === "argmax" ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let j = 0; j < inner; j++) {
      let best = x[base + j], bi = 0;
      for (let s = 1; s < size; s++) {
        const v = x[base + s * inner + j];
        if (better(v, best)) {
          best = v;
          bi = s;
        }
      }
      out[o * inner + j] = bi;
    }
  }
}
