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
  if (activeRecycler && n >= EMPTY_MIN_LENGTH) {
    const a = activeRecycler.take(n) ?? newEmptyFloat32(n);
    activeRecycler.issued(a);
    return a;
  }
  return newEmptyFloat32(n);
}

function newEmptyFloat32(n: number): Float32Array {
  if (uninitializedFill !== null) return new Float32Array(n).fill(uninitializedFill);
  if (n < EMPTY_MIN_LENGTH || !NodeBuffer) return new Float32Array(n);
  const b = NodeBuffer.allocUnsafeSlow(n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}

/**
 * Arrays that a backward pass is done with, handed out again by emptyFloat32 while the pass runs.
 * JavaScript frees an array only when the garbage collector finds it dead: a training step's
 * gradients then pile up as garbage, V8 collects every 32 MB of new arrays, and each new array
 * is memory that left the caches long ago. The autograd pass knows when an intermediate gradient
 * is dead (its consumer has run and nothing else holds its memory), so it gives it back here,
 * and the next gradient of that length reuses it while it is still in cache (what PyTorch's
 * reference counts do for it). Only arrays this recycler issued are taken back, each once.
 */
export class ArrayRecycler {
  private issuedArrays = new WeakSet<Float32Array>();
  /** How many arrays were handed out again (for tests and profiles). */
  reused = 0;

  /** free: arrays another recycler gave back and nothing refers to (the previous pass's spares). */
  constructor(private free = new Map<number, Float32Array[]>()) {}

  /** The arrays given back and not handed out again, by length, for the next recycler. */
  spare(): Map<number, Float32Array[]> {
    return this.free;
  }

  /** Bytes of the arrays given back and not handed out again. */
  spareBytes(): number {
    let n = 0;
    for (const [len, list] of this.free) n += len * 4 * list.length;
    return n;
  }

  /** Note an array emptyFloat32 handed out while this recycler was active. */
  issued(a: Float32Array): void {
    this.issuedArrays.add(a);
  }

  /** Give back an array nothing refers to any more; ignored unless this recycler issued it. */
  release(a: Float32Array): void {
    if (!this.issuedArrays.has(a)) return;
    this.issuedArrays.delete(a); // a second release of the same array is ignored
    const list = this.free.get(a.length);
    if (list) list.push(a);
    else this.free.set(a.length, [a]);
  }

  /** An array of length n given back earlier, if any (filled as emptyFloat32 would). */
  take(n: number): Float32Array | undefined {
    const a = this.free.get(n)?.pop();
    if (!a) return undefined;
    this.reused++;
    if (uninitializedFill !== null) a.fill(uninitializedFill);
    return a;
  }
}

let activeRecycler: ArrayRecycler | null = null;

/** Run fn with emptyFloat32 drawing on recycler (nested calls restore the outer one). */
export function withRecycler<T>(recycler: ArrayRecycler, fn: () => T): T {
  const prev = activeRecycler;
  activeRecycler = recycler;
  try {
    return fn();
  } finally {
    activeRecycler = prev;
  }
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
