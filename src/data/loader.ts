// Mini-batches over tensors that share their first dim, shuffled by the seeded generator.

import { defaultGenerator, type Generator as RandomGenerator } from "../tensor/random.js";
import { formatShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";

export interface LoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  dropLast?: boolean;
  generator?: RandomGenerator;
}

/** Rows `indices` of t (first dim) as a new tensor. */
export function takeRows(t: Tensor, indices: Int32Array | number[]): Tensor {
  const row = t.numel / t.shape[0];
  const out = t.dtype === "float32" ? new Float32Array(indices.length * row) : new Int32Array(indices.length * row);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    out.set(t.data.subarray(r * row, (r + 1) * row), i * row);
  }
  return new Tensor(out, [indices.length, ...t.shape.slice(1)]);
}

export class DataLoader {
  readonly tensors: Tensor[];
  readonly length: number;

  constructor(tensors: Tensor[], readonly options: LoaderOptions) {
    if (tensors.length === 0) throw new RangeError("DataLoader: needs at least one tensor");
    const n = tensors[0].shape[0];
    for (const t of tensors) {
      if (t.ndim === 0 || t.shape[0] !== n) {
        throw new RangeError(`DataLoader: tensors must share their first dim; got ${tensors.map((x) => formatShape(x.shape)).join(" and ")}`);
      }
    }
    if (!(options.batchSize >= 1)) throw new RangeError(`DataLoader: batchSize must be >= 1, got ${options.batchSize}`);
    this.tensors = tensors;
    this.length = n;
  }

  /** Number of batches per epoch. */
  get numBatches(): number {
    const b = this.options.batchSize;
    return this.options.dropLast ? Math.floor(this.length / b) : Math.ceil(this.length / b);
  }

  *[Symbol.iterator](): Generator<Tensor[]> {
    const { batchSize, shuffle = false, dropLast = false } = this.options;
    const g = this.options.generator ?? defaultGenerator;
    const order = shuffle ? g.permutation(this.length) : Int32Array.from({ length: this.length }, (_, i) => i);
    for (let s = 0; s < this.length; s += batchSize) {
      const idx = order.subarray(s, Math.min(s + batchSize, this.length));
      if (dropLast && idx.length < batchSize) break;
      yield this.tensors.map((t) => takeRows(t, idx));
    }
  }
}
