// The Tensor: a shape, a dtype and a flat row-major typed array, plus the autograd tape.
//
// Memory is owned by the typed array, so the garbage collector frees tensors (no dispose);
// tidy() (tidy.ts) gives a step's memory back sooner, and a tensor it freed throws when read.
// Ops live in src/ops and attach themselves as methods (see ops/methods.ts); this file only
// knows how to store values and how to walk the tape backwards.

import { type DType, dtypeOfArray } from "./dtype.js";
import { ArrayRecycler, emptyFloat32, freeArrays, inArrayScope, withRecycler } from "./memory.js";
import { formatShape, shapesEqual, sizeOf, stridesOf } from "./shape.js";

/**
 * The gradients already summed for an op's inputs when its backward runs (from the inputs'
 * other consumers). take(i) hands input i's sum to the op, which then adds it into the gradient
 * it returns for input i (the sum leaves the engine's books): a kernel that writes that gradient
 * can add it as it stores (a GEMM's addend), instead of the engine adding the two arrays after.
 * A residual stream's gradient meets there twice a block: ViT-Ti's 24 such sums, 1.2 MB each,
 * were about 0.8% of its training step as separate adds.
 */
export interface PendingGradients {
  take(input: number): Tensor | undefined;
}

export type BackwardFn = (grad: Tensor, pending: PendingGradients) => (Tensor | null)[];

/** How a tensor was made: its inputs and the rule that maps its gradient to theirs. */
export interface GradFn {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Gradients for each input (null where an input needs none). Runs with grad disabled. */
  backward: BackwardFn;
}

// --- grad mode -------------------------------------------------------------------------------

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn without recording the tape (like torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Run fn with the tape recording, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Told of every tensor made and every gradient kept while a tidy() scope runs (tidy.ts). */
export interface TensorTracker {
  made(t: Tensor): void;
  /** A .grad that backward() set: it outlives the scope. */
  gradKept(grad: Tensor): void;
}

let tracker: TensorTracker | null = null;

/** Make t the tracker of new tensors and kept gradients; returns the previous one. */
export function setTensorTracker(t: TensorTracker | null): TensorTracker | null {
  const prev = tracker;
  tracker = t;
  return prev;
}

/**
 * Buffers of gradients that nothing but their .grad tensor refers to, marked as backward() sets
 * them inside a tidy() scope: zeroGrad() in a later scope may give them back. Any other tensor
 * made on such a buffer (a view of the gradient) unmarks it, and so do keep() and returning the
 * gradient from its scope.
 */
export const soleGradientBuffers = new WeakSet<ArrayBufferLike>();

let nextId = 1;

export class Tensor {
  private _data: Float32Array | Int32Array | null;
  readonly shape: number[];
  readonly dtype: DType;
  /** Accumulated gradient after backward(); same shape as this tensor. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it is part of a recorded graph. */
  gradFn: GradFn | null = null;
  /** A stable id, handy for debugging and as a map key. */
  readonly id = nextId++;
  private _requiresGrad = false;
  private _retainGrad = false;

  constructor(data: Float32Array | Int32Array, shape: readonly number[], requiresGrad = false) {
    const n = sizeOf(shape);
    if (data.length !== n) {
      throw new RangeError(`Tensor: data has ${data.length} elements but shape ${formatShape(shape)} needs ${n}`);
    }
    this._data = data;
    if (soleGradientBuffers.has(data.buffer)) soleGradientBuffers.delete(data.buffer);
    this.shape = [...shape];
    this.dtype = dtypeOfArray(data);
    if (requiresGrad) this.requiresGrad = true;
    if (tracker) tracker.made(this);
  }

  /** Flat row-major values. Treat as read-only unless you own the tensor. */
  get data(): Float32Array | Int32Array {
    const d = this._data;
    if (d === null) {
      throw new Error(
        `tensor ${this.id} of shape ${formatShape(this.shape)} was freed at the end of the tidy() scope that made it: ` +
          "return it from the scope or keep() it to use it afterwards",
      );
    }
    return d;
  }

  /** Whether tidy() has given this tensor's memory back (reading it then throws). */
  get isFreed(): boolean {
    return this._data === null;
  }

  /** For tidy(): the memory is reused from now on, so reading this tensor must fail. */
  free(): void {
    this._data = null;
  }

  /** Build an op's result: records the grad fn when grad mode is on and an input needs grad. */
  /**
   * A gradient array the calling backward function has just allocated for one input and keeps no
   * other reference to (a Linear's dW, a LayerNorm's dgamma): a leaf may take it as its .grad as
   * it is instead of copying it, as PyTorch takes a gradient nobody else holds.
   */
  static freshGrad(data: Float32Array, shape: readonly number[]): Tensor {
    freshGradients.add(data);
    return new Tensor(data, shape);
  }

  static fromOp(
    name: string,
    data: Float32Array | Int32Array,
    shape: readonly number[],
    inputs: readonly Tensor[],
    backward: BackwardFn,
  ): Tensor {
    const out = new Tensor(data, shape);
    if (gradEnabled && out.dtype === "float32" && inputs.some((t) => t.requiresGrad)) {
      out.gradFn = { name, inputs, backward };
      out._requiresGrad = true;
    }
    return out;
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  set requiresGrad(value: boolean) {
    if (value && this.dtype !== "float32") {
      throw new TypeError(`requiresGrad: only float32 tensors can require gradients (this one is ${this.dtype})`);
    }
    if (!value && this.gradFn) {
      throw new Error("requiresGrad: cannot turn off gradients of a non-leaf tensor; use detach()");
    }
    this._requiresGrad = value;
  }

  /** In-place flavour that returns this, for chaining: zeros([3]).requiresGrad_(). */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** Keep .grad on a non-leaf tensor after backward(). */
  retainGrad(): this {
    this._retainGrad = true;
    return this;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get numel(): number {
    return this.data.length;
  }

  get strides(): number[] {
    return stridesOf(this.shape);
  }

  /** size() is the shape (PyTorch); size(d) one dimension, negative d counts from the end. */
  size(dim?: number): number | number[] {
    if (dim === undefined) return [...this.shape];
    const d = dim < 0 ? dim + this.ndim : dim;
    if (d < 0 || d >= this.ndim) throw new RangeError(`size: dim ${dim} out of range for rank ${this.ndim}`);
    return this.shape[d];
  }

  /** A new row-major copy of the values. */
  toArray(): Float32Array | Int32Array {
    return this.data.slice();
  }

  /** Nested JS arrays (like tensor.tolist()). */
  tolist(): unknown {
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.ndim) return this.data[offset];
      const stride = sizeOf(this.shape.slice(dim + 1));
      const out: unknown[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) {
      throw new RangeError(`item: only one-element tensors have an item, this one has shape ${formatShape(this.shape)}`);
    }
    return this.data[0];
  }

  /** A tensor sharing the same values but cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** Independent copy (recorded on the tape like any op). */
  clone(): Tensor {
    return Tensor.fromOp("clone", this.data.slice(), this.shape, [this], (g) => [g]);
  }

  zeroGrad(): void {
    this.grad = null;
  }

  /**
   * Reverse-mode autodiff from this tensor. A scalar needs no gradient argument; any other
   * shape needs one of the same shape (the vector in the vector-Jacobian product).
   */
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    if (!this.requiresGrad) {
      throw new Error("backward: this tensor does not require grad and has no grad fn (did you forget requiresGrad?)");
    }
    let seed: Tensor;
    if (gradient === undefined) {
      if (this.numel !== 1) {
        throw new Error(
          `backward: grad can be implicitly created only for scalar outputs; this tensor has shape ${formatShape(this.shape)}, pass a gradient of that shape`,
        );
      }
      seed = new Tensor(new Float32Array([1]), this.shape);
    } else {
      if (!shapesEqual(gradient.shape, this.shape)) {
        throw new RangeError(
          `backward: gradient shape ${formatShape(gradient.shape)} does not match tensor shape ${formatShape(this.shape)}`,
        );
      }
      seed = gradient;
    }
    runBackward(this, seed, options.retainGraph ?? false);
  }

  toString(): string {
    if (this.isFreed) return `tensor(shape=${formatShape(this.shape)}, dtype=${this.dtype}, freed)`;
    const head = `tensor(shape=${formatShape(this.shape)}, dtype=${this.dtype}`;
    const vals = this.numel <= 20 ? `, ${JSON.stringify(this.tolist())}` : "";
    return `${head}${vals}${this.gradFn ? `, grad_fn=${this.gradFn.name}` : ""})`;
  }
}

// --- the tape walk ---------------------------------------------------------------------------

/** Topological order of the graph below root (inputs before the tensors made from them). */
function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: deep graphs (long RNN unrolls) must not overflow the JS stack.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradFn ? t.gradFn.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order;
}

/** out[i] = a[i] + b[i] (out may be a). */
export type ArrayAdder = (a: Float32Array, b: Float32Array, out: Float32Array) => void;

function addArraysJs(a: Float32Array, b: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}

let addArrays: ArrayAdder = addArraysJs;

/**
 * The kernel that sums gradients meeting at a tensor during backward(). The tensor layer sits
 * above the backends, so the ops layer installs the current backend's add here (gradient sums
 * are a tenth of a ViT training step when done in a JavaScript loop).
 */
export function setGradientAdder(fn: ArrayAdder | null): void {
  addArrays = fn ?? addArraysJs;
}

/** Gradient arrays that a backward function allocated for one input alone (Tensor.freshGrad). */
const freshGradients = new WeakSet<object>();

function accumulate(into: Tensor | undefined, g: Tensor): Tensor {
  if (!into) return g;
  const out = emptyFloat32(into.data.length);
  addArrays(into.data as Float32Array, g.data as Float32Array, out);
  return new Tensor(out, into.shape);
}

/**
 * Gradients summed during one backward pass; sums we allocated ourselves are added to in place.
 * It also counts the live handles on each gradient's memory (a gradient waiting in the sums, or
 * being consumed by its op's backward): when the last one is dropped, nothing can read the array
 * again, and the recycler may hand it out for a later gradient.
 */
class GradSums {
  private sums = new Map<Tensor, Tensor>();
  private owned = new Set<Tensor>();
  /** How many times each array's memory has been handed to a tensor in this pass (shared: > 1). */
  private uses = new Map<ArrayBufferLike, number>();
  /** Live handles on each array's memory (views of one buffer count together). */
  private handles = new Map<ArrayBufferLike, number>();

  constructor(private readonly recycler: ArrayRecycler) {}

  add(t: Tensor, g: Tensor): void {
    const cur = this.sums.get(t);
    if (!cur) {
      this.sums.set(t, g); // may alias an op's output or another input's gradient: never written
      this.use(g);
      this.hold(g);
      return;
    }
    if (this.owned.has(cur)) {
      addArrays(cur.data as Float32Array, g.data as Float32Array, cur.data as Float32Array);
      return;
    }
    const sum = accumulate(cur, g);
    this.drop(cur);
    this.owned.add(sum);
    freshGradients.add(sum.data);
    this.use(sum);
    this.hold(sum);
    this.sums.set(t, sum);
  }

  /** A handle on g's memory (the sums keep one for each gradient they hold). */
  hold(g: Tensor): void {
    const b = g.data.buffer;
    this.handles.set(b, (this.handles.get(b) ?? 0) + 1);
  }

  /** A handle on g is gone; the last one gives g's array back to the recycler. */
  drop(g: Tensor): void {
    const b = g.data.buffer;
    const n = (this.handles.get(b) ?? 0) - 1;
    if (n > 0) {
      this.handles.set(b, n);
      return;
    }
    this.handles.delete(b);
    freshGradients.delete(g.data); // if it comes back, it is some other op's array, fresh or not
    this.recycler.release(g.data as Float32Array);
  }

  use(g: Tensor): void {
    this.uses.set(g.data.buffer, (this.uses.get(g.data.buffer) ?? 0) + 1);
  }

  /** Whether a leaf may keep g's array as its .grad: allocated for it alone and never handed elsewhere. */
  adoptable(g: Tensor): boolean {
    return freshGradients.has(g.data) && this.uses.get(g.data.buffer) === 1;
  }

  take(t: Tensor): Tensor | undefined {
    const g = this.sums.get(t);
    if (g) {
      this.sums.delete(t);
      this.owned.delete(g);
    }
    return g;
  }
}

function freedGradFn(name: string): GradFn {
  return {
    name,
    inputs: [],
    backward(): never {
      throw new Error(
        `backward: trying to backward through the graph a second time (at ${name}); the first backward() freed it. ` +
          "Pass { retainGraph: true } to the first backward(), or recompute the forward pass",
      );
    },
  };
}

let recycling = true;
let reusedTotal = 0;

/**
 * Whether backward() hands the memory of gradients it is done with to later gradients of the
 * same pass (default true; see ArrayRecycler). Off: every gradient is a new array, as before.
 */
export function setGradientRecycling(enabled: boolean): void {
  recycling = enabled;
  if (!enabled) freeArrays.clear();
}

/** How many gradient arrays backward passes have reused so far (for tests and profiles). */
export function gradientArraysReused(): number {
  return reusedTotal;
}

function runBackward(root: Tensor, seed: Tensor, retainGraph: boolean): void {
  const order = topoSort(root);
  const recycler = new ArrayRecycler();
  const grads = new GradSums(recycler);
  grads.add(root, seed);
  grads.use(seed); // the caller's array: never adopted (nor recycled: the recycler did not issue it)
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    const pass = (): void => {
      for (let idx = order.length - 1; idx >= 0; idx--) {
        const t = order[idx];
        const g = grads.take(t);
        if (!g) continue;
        backwardNode(t, g, grads, retainGraph);
      }
    };
    if (recycling) withRecycler(recycler, pass);
    else pass();
  } finally {
    gradEnabled = prev;
    reusedTotal += recycler.reused;
    // The pass's spare arrays wait for the next pass (after the first training step backward
    // allocates almost nothing); inside tidy() the pool ages at the scope's end instead.
    if (!inArrayScope()) freeArrays.age();
  }
}

/** One node of the pass: t's gradient g goes to t.grad (leaf, retained) and/or through t's op. */
function backwardNode(t: Tensor, g: Tensor, grads: GradSums, retainGraph: boolean): void {
  const fn = t.gradFn;
  if (!fn || (t as unknown as { _retainGrad: boolean })._retainGrad) {
    // Leaf (or retained): accumulate into .grad, like PyTorch. Optimizers edit .grad in place,
    // so a leaf keeps g's own array only when it was allocated for this leaf alone (a Linear's
    // dW: 51 MB a GPT step not copied); grads handed to several inputs may share one array.
    const adopt = !t.grad && !fn && grads.adoptable(g);
    t.grad = t.grad ? accumulate(t.grad, g) : adopt ? new Tensor(g.data, g.shape) : new Tensor(g.data.slice(), g.shape);
    if (tracker) tracker.gradKept(t.grad);
    if (!fn) {
      if (!adopt) grads.drop(g); // an adopted array is the leaf's for good
      return;
    }
  }
  const taken: Tensor[] = [];
  const pending: PendingGradients = {
    take(i: number): Tensor | undefined {
      const inp = fn.inputs[i];
      const sum = inp && inp.requiresGrad ? grads.take(inp) : undefined;
      if (sum) taken.push(sum);
      return sum;
    },
  };
  const inputGrads = fn.backward(g, pending);
  // The input gradients may share memory with g or with each other: hold them all while they
  // are added, so that none is given back while another still needs its memory.
  const handed: [Tensor, Tensor][] = [];
  for (let i = 0; i < fn.inputs.length; i++) {
    const inp = fn.inputs[i];
    const ig = inputGrads[i];
    if (!ig || !inp.requiresGrad) continue;
    if (!shapesEqual(ig.shape, inp.shape)) {
      throw new Error(
        `backward of ${fn.name}: gradient for input ${i} has shape ${formatShape(ig.shape)}, expected ${formatShape(inp.shape)}`,
      );
    }
    grads.hold(ig);
    handed.push([inp, ig]);
  }
  for (const [inp, ig] of handed) grads.add(inp, ig);
  for (const [, ig] of handed) grads.drop(ig); // one added in place to a sum is free now
  for (const sum of taken) grads.drop(sum); // folded into the op's gradient for its input
  grads.drop(g); // consumed
  // Free the saved tensors: the graph is consumed. A marker stays in place so that a second
  // backward through it fails loudly (like PyTorch) instead of stopping here silently.
  if (!retainGraph) t.gradFn = freedGradFn(fn.name);
}
