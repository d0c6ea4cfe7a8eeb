// Sinusoidal positional encoding (Vaswani et al. 2017, §3.5):
//   PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).

import { Tensor } from "../tensor/tensor.js";

/** The [length, dim] table. */
export function sinusoidalTable(length: number, dim: number, base = 10000): Tensor {
  const out = new Float32Array(length * dim);
  for (let pos = 0; pos < length; pos++) {
    for (let i = 0; i < dim; i += 2) {
      const angle = pos / Math.pow(base, i / dim);
      out[pos * dim + i] = Math.sin(angle);
      if (i + 1 < dim) out[pos * dim + i + 1] = Math.cos(angle);
    }
  }
  return new Tensor(out, [length, dim]);
}
