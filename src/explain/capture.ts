// Recording attention weights. Every model here attends through the two ops of
// src/ops/attention.ts (scaledDotProductAttention, multiHeadAttentionFused, which
// MultiHeadAttention calls), so one observer there sees every layer of every model, text,
// image or video, without a change to any model file. While nothing records, the fused
// kernels run and the weights are never formed; while recording, the op forms them
// explicitly (softmax(QK^T/sqrt(d)) then A V) and hands each [B, H, Tq, Tk] tensor here.

import { Module } from "../nn/module.js";
import { setAttentionObserver } from "../ops/attention.js";
import type { Tensor } from "../tensor/tensor.js";

/** One attention call: which module made it and its weights [B, H, Tq, Tk] (rows sum to 1). */
export interface AttentionRecord {
  /** Dotted path of the innermost module running when the call happened ("" if none). */
  module: string;
  /** "multiHeadAttention" or "scaledDotProductAttention". */
  op: string;
  weights: Tensor;
}

export interface RecordOptions {
  /**
   * Keep each record in the autograd graph with its gradient retained, so that after a
   * backward() from the output `record.weights.grad` holds dOutput/dA (gradient-weighted
   * attention). Default false: records are detached.
   */
  keepGraph?: boolean;
}

export interface Recording<T> {
  output: T;
  attentions: AttentionRecord[];
}

/**
 * Run fn (typically `() => model.forward(x)`) and return its result with every attention
 * call's weights, in call order. model (optional) gives the records their module paths.
 */
export function recordAttention<T>(model: Module | null, fn: () => T, options: RecordOptions = {}): Recording<T> {
  const attentions: AttentionRecord[] = [];
  const stack: string[] = [];
  // Module paths: wrap each module's forward for the duration of the call (own property on
  // the instance, removed afterwards) so the observer knows which module is running.
  const restore: (() => void)[] = [];
  if (model) {
    const seen = new Set<Module>();
    for (const [name, m] of model.namedModules()) {
      if (seen.has(m)) continue; // a shared module keeps its first name
      seen.add(m);
      const own = Object.prototype.hasOwnProperty.call(m, "forward");
      const original = (m as unknown as { forward: (...a: unknown[]) => unknown }).forward;
      if (typeof original !== "function") continue;
      Object.defineProperty(m, "forward", {
        configurable: true, writable: true, enumerable: false,
        value: function (this: Module, ...args: unknown[]) {
          stack.push(name);
          try {
            return original.apply(this, args);
          } finally {
            stack.pop();
          }
        },
      });
      restore.push(() => {
        if (own) Object.defineProperty(m, "forward", { configurable: true, writable: true, enumerable: false, value: original });
        else delete (m as unknown as { forward?: unknown }).forward;
      });
    }
  }
  const prev = setAttentionObserver((weights, op) => {
    let w = weights;
    if (options.keepGraph && w.requiresGrad) w.retainGrad();
    else if (!options.keepGraph) w = w.detach();
    attentions.push({ module: stack.length ? stack[stack.length - 1] : "", op, weights: w });
  });
  try {
    return { output: fn(), attentions };
  } finally {
    setAttentionObserver(prev);
    for (const r of restore) r();
  }
}

/** Group records by module path, in first-call order (decoding calls a layer once per step). */
export function groupByModule(records: readonly AttentionRecord[]): Map<string, AttentionRecord[]> {
  const out = new Map<string, AttentionRecord[]>();
  for (const r of records) {
    const list = out.get(r.module);
    if (list) list.push(r);
    else out.set(r.module, [r]);
  }
  return out;
}
