// The two dtypes tsformer computes with: float32 for values, int32 for indices and labels.

export type DType = "float32" | "int32";
export type TypedArrayOf<D extends DType> = D extends "float32" ? Float32Array : Int32Array;

export function allocate(dtype: DType, size: number): Float32Array | Int32Array {
  return dtype === "float32" ? new Float32Array(size) : new Int32Array(size);
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
