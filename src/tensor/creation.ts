// Creating tensors: from data, constants, ranges and the seeded random generator.

import { type DType, allocate, assertDType } from "./dtype.js";
import { defaultGenerator, type Generator } from "./random.js";
import { checkShape, formatShape, sizeOf } from "./shape.js";
import { Tensor } from "./tensor.js";

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

type Nested = number | boolean | readonly Nested[];

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as readonly Nested[])[0];
    if (cur === undefined) break;
  }
  return shape;
}

function flattenInto(data: Nested, shape: number[], dim: number, out: number[]): void {
  if (dim === shape.length) {
    if (Array.isArray(data)) throw new RangeError(`tensor: ragged nested array (too deep at dim ${dim})`);
    out.push(typeof data === "boolean" ? (data ? 1 : 0) : (data as number));
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    throw new RangeError(
      `tensor: ragged nested array: expected ${shape[dim]} elements at dim ${dim}, got ${Array.isArray(data) ? data.length : "a number"}`,
    );
  }
  for (const x of data as readonly Nested[]) flattenInto(x, shape, dim + 1, out);
}

/**
 * Make a tensor from a number, nested arrays or a typed array.
 * `shape` is optional for nested arrays (inferred) and required to reshape flat data.
 * The default dtype is int32 for an Int32Array and float32 otherwise.
 */
export function tensor(
  data: Nested | Float32Array | Int32Array | ArrayLike<number>,
  shape?: readonly number[] | TensorOptions,
  options: TensorOptions = {},
): Tensor {
  if (shape !== undefined && !Array.isArray(shape)) {
    options = shape as TensorOptions;
    shape = undefined;
  }
  const isTyped = data instanceof Float32Array || data instanceof Int32Array || ArrayBuffer.isView(data);
  const dtype = assertDType(options.dtype ?? (data instanceof Int32Array ? "int32" : "float32"));
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (typeof data === "number" || typeof data === "boolean") {
    flat = [typeof data === "boolean" ? Number(data) : data];
    inferred = [];
  } else if (isTyped) {
    flat = data as ArrayLike<number>;
    inferred = [flat.length];
  } else {
    inferred = inferShape(data as Nested);
    const out: number[] = [];
    flattenInto(data as Nested, inferred, 0, out);
    flat = out;
  }
  const finalShape = shape ? checkShape(shape as number[]) : inferred;
  if (sizeOf(finalShape) !== flat.length) {
    throw new RangeError(
      `tensor: ${flat.length} values cannot have shape ${formatShape(finalShape)} (${sizeOf(finalShape)} elements)`,
    );
  }
  const arr = allocate(dtype, flat.length);
  if (dtype === "int32") {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i];
      if (!Number.isInteger(v)) throw new TypeError(`tensor: int32 data must be integers, got ${v} at index ${i}`);
      arr[i] = v;
    }
  } else {
    arr.set(flat as ArrayLike<number>);
  }
  return new Tensor(arr, finalShape, options.requiresGrad ?? false);
}

export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  const s = checkShape(shape);
  const arr = allocate(assertDType(options.dtype ?? "float32"), sizeOf(s));
  if (value !== 0) arr.fill(value);
  return new Tensor(arr, s, options.requiresGrad ?? false);
}

export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return full(shape, 1, options);
}

export function zerosLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, ...options });
}

export function onesLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, ...options });
}

export function fullLike(t: Tensor, value: number, options: TensorOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, ...options });
}

/** arange(end), arange(start, end), arange(start, end, step): like torch.arange. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new RangeError("arange: step must not be 0");
  const n = Math.max(0, Math.ceil((end - start) / step));
  const allInt = Number.isInteger(start) && Number.isInteger(step);
  const dtype = assertDType(options.dtype ?? (allInt ? "int32" : "float32"));
  const arr = allocate(dtype, n);
  for (let i = 0; i < n; i++) arr[i] = start + i * step;
  return new Tensor(arr, [n], options.requiresGrad ?? false);
}

export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  const arr = new Float32Array(steps);
  for (let i = 0; i < steps; i++) arr[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  return new Tensor(arr, [steps], options.requiresGrad ?? false);
}

/** Uniform [0, 1). */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  const s = checkShape(shape);
  const arr = new Float32Array(sizeOf(s));
  for (let i = 0; i < arr.length; i++) arr[i] = g.random();
  return new Tensor(arr, s, options.requiresGrad ?? false);
}

/** Standard normal. */
export function randn(shape: readonly number[], options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  const s = checkShape(shape);
  const arr = new Float32Array(sizeOf(s));
  for (let i = 0; i < arr.length; i++) arr[i] = g.normal();
  return new Tensor(arr, s, options.requiresGrad ?? false);
}

/** Integers uniform in [low, high), int32 by default. */
export function randint(low: number, high: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  if (!(high > low)) throw new RangeError(`randint: high (${high}) must be greater than low (${low})`);
  const g = options.generator ?? defaultGenerator;
  const s = checkShape(shape);
  const arr = allocate(assertDType(options.dtype ?? "int32"), sizeOf(s));
  for (let i = 0; i < arr.length; i++) arr[i] = g.randint(low, high);
  return new Tensor(arr, s, options.requiresGrad ?? false);
}

/** A random permutation of 0..n-1 (int32). */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  return new Tensor(g.permutation(n), [n]);
}
