// Reference embedding kernels: rows of a [V, C] table gathered by id, and their gradient added back.

import type { F32, I32 } from "../backend.js";

export function embedding(weight: F32, ids: I32, cols: number, out: F32): void {
  for (let i = 0; i < ids.length; i++) out.set(weight.subarray(ids[i] * cols, (ids[i] + 1) * cols), i * cols);
}

export function embeddingBackward(grad: F32, ids: I32, cols: number, dweight: F32): void {
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i] * cols, src = i * cols;
    for (let j = 0; j < cols; j++) dweight[row + j] += grad[src + j];
  }
}
