// The Optimizer base: parameter groups with their own hyper-parameters, like torch.optim.

import type { Parameter } from "../../nn/module.js";
import type { Module } from "../../nn/module.js";
import type { Tensor } from "../../tensor/tensor.js";
import { releaseGradient } from "../../tensor/tidy.js";

export interface ParamGroup<H> {
  params: Parameter[];
  /** Hyper-parameters for this group; missing ones come from the optimizer's defaults. */
  options?: Partial<H>;
}

export interface ResolvedGroup<H> {
  params: Parameter[];
  options: H;
}

export type Params<H> = Parameter[] | ParamGroup<H>[];

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ResolvedGroup<H>[];
  /** Per-parameter state (moments, momentum buffers), keyed by the parameter. */
  protected state = new Map<Parameter, Record<string, Float32Array | number>>();

  constructor(params: Params<H>, readonly defaults: H) {
    const list = params as unknown[];
    if (list.length === 0) throw new RangeError("Optimizer: got an empty parameter list");
    const groups: ParamGroup<H>[] = isGroupList(list) ? (list as ParamGroup<H>[]) : [{ params: list as Parameter[] }];
    this.paramGroups = groups.map((g) => ({ params: g.params, options: { ...defaults, ...(g.options ?? {}) } }));
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.requiresGrad) throw new Error("Optimizer: every parameter must require grad");
      }
    }
  }

  /** Drop every gradient (PyTorch's set_to_none); inside tidy() their memory is reused (releaseGradient). */
  zeroGrad(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.grad) releaseGradient(p.grad);
        p.grad = null;
      }
    }
  }

  /** Update every parameter that has a gradient. */
  abstract step(): void;

  /** State for checkpoints: per group the options, per parameter (by position) its buffers. */
  stateDict(): { groups: H[]; state: Record<string, number | number[]>[] } {
    const state: Record<string, number | number[]>[] = [];
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const s = this.state.get(p) ?? {};
        const o: Record<string, number | number[]> = {};
        for (const [k, v] of Object.entries(s)) o[k] = typeof v === "number" ? v : Array.from(v);
        state.push(o);
      }
    }
    return { groups: this.paramGroups.map((g) => ({ ...g.options })), state };
  }

  loadStateDict(sd: { groups: H[]; state: Record<string, number | number[]>[] }): void {
    if (sd.groups.length !== this.paramGroups.length) {
      throw new RangeError(`Optimizer.loadStateDict: ${sd.groups.length} groups saved, ${this.paramGroups.length} here`);
    }
    sd.groups.forEach((o, i) => (this.paramGroups[i].options = { ...o }));
    let i = 0;
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const s = sd.state[i++] ?? {};
        const restored: Record<string, Float32Array | number> = {};
        for (const [k, v] of Object.entries(s)) restored[k] = typeof v === "number" ? v : Float32Array.from(v);
        this.state.set(p, restored);
      }
    }
  }

  protected stateOf(p: Parameter): Record<string, Float32Array | number> {
    let s = this.state.get(p);
    if (!s) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }
}

function isGroupList(list: unknown[]): boolean {
  return list.length > 0 && typeof list[0] === "object" && list[0] !== null && "params" in (list[0] as object) &&
    !((list[0] as Tensor).shape);
}

/**
 * Split a model's parameters into two groups: matrices (and conv kernels) get weight decay;
 * biases, norm weights and other 1-D parameters do not (the GPT-2 / BERT recipe).
 */
export function weightDecayGroups<H extends { weightDecay: number }>(model: Module, weightDecay: number):
  ParamGroup<H>[] {
  const decay: Parameter[] = [], noDecay: Parameter[] = [];
  for (const [, p] of model.namedParameters()) (p.ndim >= 2 ? decay : noDecay).push(p);
  return [
    { params: decay, options: { weightDecay } as Partial<H> },
    { params: noDecay, options: { weightDecay: 0 } as Partial<H> },
  ].filter((g) => g.params.length > 0);
}
