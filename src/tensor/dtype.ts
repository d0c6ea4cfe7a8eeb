// The two dtypes tsformer computes with: float32 for values, int32 for indices and labels.

export type DType = "float32" | "int32";
export type TypedArrayOf<D extends DType> = D extends "float32" ? Float32Array : Int32Array;

export function allocate(dtype: DType, size: number): Float32Array | Int32Array {
  return dtype === "float32" ? new Float32Array(size) : new Int32Array(size);
}

let uninitializedFill: number | null = null;

/**
 * Fill every array emptyFloat32 hands out with `value` from now on (null: back to
 * uninitialised memory). With NaN, a kernel that leaves part of its output unwritten shows up
 * as NaN in its result; PyTorch's torch.utils.deterministic.fill_uninitialized_memory does the
 * same for torch.empty. For tests and debugging: it costs the fill.
 */
export function setUninitializedFill(value: number | null): void {
  uninitializedFill = value;
}

/** Arrays at least this long come uninitialised from emptyFloat32 (shorter ones are not worth it). */
const EMPTY_MIN_LENGTH = 1024;
type BufferLike = { allocUnsafeSlow(bytes: number): { buffer: ArrayBuffer; byteOffset: number } };
const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;

/**
 * A float32 array whose contents are undefined (torch.empty), for outputs a kernel overwrites
 * in full. `new Float32Array(n)` zero-fills, and on a training step that fill (plus the page
 * faults it takes) is a pass over every activation and gradient for nothing. In Node the
 * memory comes from Buffer.allocUnsafeSlow (not zeroed, not pooled); elsewhere it is zeroed.
 */
export function emptyFloat32(n: number): Float32Array {
  if (uninitializedFill !== null) return new Float32Array(n).fill(uninitializedFill);
  if (n < EMPTY_MIN_LENGTH || !NodeBuffer) return new Float32Array(n);
  const b = NodeBuffer.allocUnsafeSlow(n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}

export function dtypeOfArray(a: Float32Array | Int32Array): DType {
  return a instanceof Float32Array ? "float32" : "int32";
}

export function assertDType(dtype: unknown): DType {
  if (dtype !== "float32" && dtype !== "int32") {
    throw new TypeError(`unknown dtype ${JSON.stringify(dtype)}: expected "float32" or "int32"`);
  }
  return dtype;
}
