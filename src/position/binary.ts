// Binary positional encoding: position p as the bits of its binary code, the simplest scheme
// that gives every position a distinct vector (each bit flips at half the rate of the one
// before it: the discrete ancestor of the sinusoidal encoding's frequencies).

import { Tensor } from "../tensor/tensor.js";

/** [length, bits] with entries in {0, 1} (or {-1, 1} when signed), least significant bit first. */
export function binaryTable(length: number, bits = Math.max(1, Math.ceil(Math.log2(Math.max(length, 2)))), signed = false): Tensor {
  if (length > 2 ** bits) throw new RangeError(`binaryTable: ${length} positions need more than ${bits} bits`);
  const out = new Float32Array(length * bits);
  for (let p = 0; p < length; p++) {
    for (let b = 0; b < bits; b++) {
      const bit = (p >> b) & 1;
      out[p * bits + b] = signed ? 2 * bit - 1 : bit;
    }
  }
  return new Tensor(out, [length, bits]);
}
