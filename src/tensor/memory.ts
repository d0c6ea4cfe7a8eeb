// Float32 memory for tensors: arrays handed out uninitialised (emptyFloat32), and arrays that
// nothing can read any more handed out again instead of new ones.
//
// JavaScript frees an array only when the garbage collector finds it dead. A training step makes
// hundreds of megabytes of activations and gradients that are dead by the step's end; left to the
// collector, every 64 MB of them starts a full mark of the JavaScript heap (V8's fixed allowance
// for memory outside its heap), and every new array is memory that left the caches long ago.
// Two places know when an array is dead and give it back to the pool below: backward(), for the
// gradients it is done with (ArrayRecycler), and tidy(), for what a step made and did not keep
// (tensor/tidy.ts). This is what PyTorch's reference counts and caching allocator do for it.

import type { DType } from "./dtype.js";

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

/** Arrays at least this long come uninitialised from emptyFloat32 and are reused (shorter ones are not worth it). */
const EMPTY_MIN_LENGTH = 1024;
type BufferLike = { allocUnsafeSlow(bytes: number): { buffer: ArrayBuffer; byteOffset: number } };
const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;

/**
 * Arrays that nothing reads any more, by length, waiting to be handed out again. Two
 * generations: what was given back since the last age() and before it. age() runs after each
 * step (the end of an outermost tidy(), or of a backward() outside one), so the pool holds at
 * most about one step's arrays: shapes that stop recurring are left to the collector.
 */
export class ArrayPool {
  private current = new Map<number, Float32Array[]>();
  private previous = new Map<number, Float32Array[]>();
  /** The buffers waiting here (each array issued by emptyFloat32 owns its buffer). */
  private waiting = new WeakSet<ArrayBufferLike>();

  /** Give back an array nothing refers to; a second put of the same array is ignored. */
  put(a: Float32Array): void {
    if (this.waiting.has(a.buffer)) return;
    this.waiting.add(a.buffer);
    const list = this.current.get(a.length);
    if (list) list.push(a);
    else this.current.set(a.length, [a]);
  }

  /** An array of length n given back earlier, if any (its contents are whatever was there). */
  take(n: number): Float32Array | undefined {
    const a = this.current.get(n)?.pop() ?? this.previous.get(n)?.pop();
    if (a) this.waiting.delete(a.buffer);
    return a;
  }

  /** Whether the array owning this buffer is waiting here (nothing may read it). */
  holds(buffer: ArrayBufferLike): boolean {
    return this.waiting.has(buffer);
  }

  /** Start a new generation: arrays given back two generations ago and never taken are dropped. */
  age(): void {
    for (const list of this.previous.values()) for (const a of list) this.waiting.delete(a.buffer);
    this.previous = this.current;
    this.current = new Map();
  }

  clear(): void {
    this.age();
    this.age();
  }
}

/** The pool emptyFloat32 draws on while a backward pass or a tidy() scope runs. */
export const freeArrays = new ArrayPool();

/** Something that wants to know every array emptyFloat32 hands out while it is active. */
export interface ArrayListener {
  issued(a: Float32Array): void;
}

let activeRecycler: ArrayRecycler | null = null;
let activeScope: ArrayListener | null = null;

/**
 * A float32 array whose contents are undefined (torch.empty), for outputs a kernel overwrites
 * in full. `new Float32Array(n)` zero-fills, and on a training step that fill (plus the page
 * faults it takes) is a pass over every activation and gradient for nothing. In Node new memory
 * comes from Buffer.allocUnsafeSlow (not zeroed, not pooled); elsewhere it is zeroed. Inside
 * backward() or tidy() an array given back to the pool earlier is reused first.
 */
export function emptyFloat32(n: number): Float32Array {
  if (n < EMPTY_MIN_LENGTH || (!activeRecycler && !activeScope)) return newEmptyFloat32(n);
  let a = freeArrays.take(n);
  if (a) {
    if (activeRecycler) activeRecycler.reused++;
    if (uninitializedFill !== null) a.fill(uninitializedFill);
  } else {
    a = newEmptyFloat32(n);
  }
  activeRecycler?.issued(a);
  activeScope?.issued(a);
  return a;
}

/** An output array of dtype that a kernel writes in full: emptyFloat32's for float32, a new one for int32. */
export function emptyArray(dtype: DType, n: number): Float32Array | Int32Array {
  return dtype === "float32" ? emptyFloat32(n) : new Int32Array(n);
}

/** A zero-filled float32 array: emptyFloat32 and a fill, so that it can reuse memory too. */
export function zerosFloat32(n: number): Float32Array {
  return n < EMPTY_MIN_LENGTH ? new Float32Array(n) : emptyFloat32(n).fill(0);
}

function newEmptyFloat32(n: number): Float32Array {
  if (uninitializedFill !== null) return new Float32Array(n).fill(uninitializedFill);
  if (n < EMPTY_MIN_LENGTH || !NodeBuffer) return new Float32Array(n);
  const b = NodeBuffer.allocUnsafeSlow(n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}

/**
 * The gradient arrays of one backward pass. The autograd pass knows when an intermediate
 * gradient is dead (its consumer has run and nothing else holds its memory), so it gives it
 * back here, and the next gradient of that length reuses it while it is still in cache. Only
 * arrays issued while this recycler was active are taken back, each once.
 */
export class ArrayRecycler {
  private issuedArrays = new WeakSet<Float32Array>();
  /** How many arrays were handed out again while this recycler was active (for tests and profiles). */
  reused = 0;

  /** Note an array emptyFloat32 handed out while this recycler was active. */
  issued(a: Float32Array): void {
    this.issuedArrays.add(a);
  }

  /** Give back an array nothing refers to any more; ignored unless this recycler issued it. */
  release(a: Float32Array): void {
    if (!this.issuedArrays.has(a)) return;
    this.issuedArrays.delete(a); // a second release of the same array is ignored
    freeArrays.put(a);
  }
}

/** Run fn with emptyFloat32 drawing on the pool for recycler (nested calls restore the outer one). */
export function withRecycler<T>(recycler: ArrayRecycler, fn: () => T): T {
  const prev = activeRecycler;
  activeRecycler = recycler;
  try {
    return fn();
  } finally {
    activeRecycler = prev;
  }
}

/** Make listener the one told of every array emptyFloat32 hands out (tidy() scopes); returns the previous one. */
export function setArrayListener(listener: ArrayListener | null): ArrayListener | null {
  const prev = activeScope;
  activeScope = listener;
  return prev;
}

/** Whether a tidy() scope is running (the pool then ages at its end, not at backward's). */
export function inArrayScope(): boolean {
  return activeScope !== null;
}
