// Rotary position embedding (RoFormer, Su et al. 2021): rotate each pair of query/key
// features by an angle proportional to the position, so that q_m . k_n depends only on
// the offset m - n. Pairs are (x_i, x_{i + d/2}), the layout GPT-NeoX and LLaMA use.

import { Tensor } from "../tensor/tensor.js";
import { add, mul } from "../ops/elementwise.js";
import { cat, narrow } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";

/** cos and sin tables [T, d] for positions offset..offset+T-1, frequencies base^(-2i/d). */
export function rotaryTables(length: number, dim: number, base = 10000, offset = 0): { cos: Tensor; sin: Tensor } {
  if (dim % 2 !== 0) throw new RangeError(`rotary: head dim must be even, got ${dim}`);
  const half = dim / 2;
  const cos = new Float32Array(length * dim), sin = new Float32Array(length * dim);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = (p + offset) * Math.pow(base, (-2 * i) / dim);
      const c = Math.cos(angle), s = Math.sin(angle);
      cos[p * dim + i] = c;
      cos[p * dim + i + half] = c;
      sin[p * dim + i] = s;
      sin[p * dim + i + half] = s;
    }
  }
  return { cos: new Tensor(cos, [length, dim]), sin: new Tensor(sin, [length, dim]) };
}

/** x [..., T, d] rotated by position: x * cos + rotateHalf(x) * sin. */
export function applyRotary(x: Tensor, offset = 0, base = 10000): Tensor {
  const T = x.shape[x.ndim - 2], d = x.shape[x.ndim - 1];
  if (x.ndim < 2) throw new RangeError(`applyRotary: expected [..., T, d], got ${formatShape(x.shape)}`);
  const { cos, sin } = rotaryTables(T, d, base, offset);
  const half = d / 2;
  const x1 = narrow(x, -1, 0, half), x2 = narrow(x, -1, half, half);
  const rotated = cat([mul(x2, -1), x1], -1); // (-x2, x1)
  return add(mul(x, cos), mul(rotated, sin));
}
