// tidy(): run one step and give the memory of the tensors it made back for reuse at its end, as
// TensorFlow.js's tf.tidy does. JavaScript has no reference counts, so without it a training
// step's activations stay allocated until the garbage collector finds them, and V8 runs a full
// collection for every 64 MB of them (a seventh of a ViT-MNIST step). The scope knows what the
// step made; what the step returns, the gradients backward() set and what keep() marks live on.

import { type ArrayListener, freeArrays, setArrayListener } from "./memory.js";
import { Tensor, type TensorTracker, setTensorTracker, soleGradientBuffers } from "./tensor.js";

class TidyScope implements TensorTracker, ArrayListener {
  /** Arrays emptyFloat32 handed out during the scope (the only memory it may give back). */
  readonly arrays = new Set<Float32Array>();
  /** Tensors made during the scope: the ones on given-back memory are marked freed. */
  readonly tensors: Tensor[] = [];
  /** Buffers that outlive every scope: gradients backward() set, keep(), leaves that require grad. */
  readonly kept = new Set<ArrayBufferLike>();

  made(t: Tensor): void {
    this.tensors.push(t);
  }

  gradKept(grad: Tensor): void {
    const a = grad.data;
    this.kept.add(a.buffer);
    // a gradient on a buffer of its own may go back at a later zeroGrad() (releaseGradient),
    // unless some other tensor is made on it, the scope returns it or keep() marks it
    if (a instanceof Float32Array && a.length >= 1024 && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) {
      soleGradientBuffers.add(a.buffer);
    }
  }

  issued(a: Float32Array): void {
    this.arrays.add(a);
  }

  /** Give back what the scope made and nothing holds any more; the rest goes to the outer scope. */
  finish(result: unknown, outer: TidyScope | null): void {
    for (const t of this.tensors) {
      // a parameter made inside the scope (and its gradient) is the model's, not the step's
      if (!t.isFreed && t.isLeaf && t.requiresGrad) {
        this.kept.add(t.data.buffer);
        if (t.grad && !t.grad.isFreed) this.kept.add(t.grad.data.buffer);
      }
    }
    const live = new Set<ArrayBufferLike>(this.kept);
    let graph = false;
    visitBuffers(result, (buffer, t) => {
      live.add(buffer);
      soleGradientBuffers.delete(buffer); // the caller holds it now
      // backward() through a returned graph would read the saved activations: keep them all
      if (t?.gradFn && t.gradFn.inputs.length > 0) graph = true;
    });
    const given = new Set<ArrayBufferLike>();
    if (!graph) {
      for (const a of this.arrays) {
        if (freeArrays.holds(a.buffer)) {
          given.add(a.buffer); // a gradient backward() was done with: already given back
        } else if (!live.has(a.buffer)) {
          given.add(a.buffer);
          freeArrays.put(a);
        }
      }
    }
    for (const t of this.tensors) {
      if (t.isFreed) continue;
      if (given.has(t.data.buffer)) t.free();
      else outer?.tensors.push(t);
    }
    if (outer) {
      for (const a of this.arrays) if (!given.has(a.buffer)) outer.arrays.add(a);
      for (const b of this.kept) outer.kept.add(b);
    } else {
      freeArrays.age(); // a step is over: arrays unused for two steps go to the collector
    }
  }
}

/** The buffers that value holds: a Tensor's or a typed array's, also inside arrays, Maps, Sets and plain objects. */
function visitBuffers(value: unknown, fn: (buffer: ArrayBufferLike, t: Tensor | null) => void, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    if (!value.isFreed) fn(value.data.buffer, value);
    return;
  }
  if (ArrayBuffer.isView(value)) {
    fn(value.buffer, null);
    return;
  }
  const items = Array.isArray(value) || value instanceof Set ? value : value instanceof Map ? value.values() : Object.values(value);
  for (const v of items) visitBuffers(v, fn, seen);
}

let current: TidyScope | null = null;

/**
 * Run fn and give back the memory of every tensor it made that is not in its result (a Tensor
 * or typed array, or ones inside arrays and objects), not a .grad that backward() set, not a leaf that requires
 * grad and not keep()'d. Those tensors are freed: reading one afterwards throws. Wrap one
 * training step in it; the next step then reuses the memory instead of allocating anew:
 *
 *   const loss = tidy(() => { opt.zeroGrad(); const l = lossFn(); l.backward(); opt.step(); return l; });
 *
 * A result that still has a graph (backward() not yet called through it) frees nothing. Raw
 * arrays taken from a tensor's .data inside the scope must not be read after it. Scopes nest: an
 * inner scope's result belongs to the outer scope. If fn throws, nothing is freed.
 */
export function tidy<T>(fn: () => T): T {
  const outer = current;
  const scope = new TidyScope();
  current = scope;
  const prevTracker = setTensorTracker(scope);
  const prevListener = setArrayListener(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    // free nothing: whatever fn made may be in the error or in the caller's hands
    scope.finish(scope.tensors, outer);
    throw e;
  } finally {
    current = outer;
    setTensorTracker(prevTracker);
    setArrayListener(prevListener);
  }
  scope.finish(result, outer);
  return result;
}

/** Keep t (and any tensor sharing its memory) alive past every enclosing tidy() scope (and zeroGrad()). */
export function keep<T extends Tensor>(t: T): T {
  current?.kept.add(t.data.buffer); // a scope hands its kept buffers to the outer one
  soleGradientBuffers.delete(t.data.buffer);
  return t;
}

/**
 * For zeroGrad() (set to none): inside a tidy() scope, a gradient that an earlier backward() set
 * and that nothing else refers to (no view of it, not returned from its scope, not keep()'d) is
 * given back with the scope's memory, and reading it afterwards throws. A training step then
 * reuses the last step's gradient memory (a GPT step: 56 MB) instead of allocating it anew.
 */
export function releaseGradient(grad: Tensor): void {
  if (!current || grad.isFreed || !soleGradientBuffers.has(grad.data.buffer)) return;
  const a = grad.data as Float32Array;
  soleGradientBuffers.delete(a.buffer);
  current.kept.delete(a.buffer); // (made in this scope: backward() had kept it)
  current.tensors.push(grad);
  current.arrays.add(a);
}
