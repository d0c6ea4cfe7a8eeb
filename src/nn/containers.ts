// Containers: Sequential chains modules; ModuleList holds them with indices as names.

import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

/** Anything with a one-tensor forward. */
export interface UnaryModule extends Module {
  forward(x: Tensor): Tensor;
}

export class ModuleList<M extends Module = Module> extends Module {
  private _items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(m: M): this {
    this.registerModule(String(this._items.length), m);
    this._items.push(m);
    return this;
  }

  get(i: number): M {
    const m = this._items[i < 0 ? i + this._items.length : i];
    if (!m) throw new RangeError(`ModuleList: index ${i} out of range for ${this._items.length} modules`);
    return m;
  }

  get length(): number {
    return this._items.length;
  }

  [Symbol.iterator](): Iterator<M> {
    return this._items[Symbol.iterator]();
  }
}

export class Sequential extends ModuleList<UnaryModule> {
  constructor(...modules: UnaryModule[]) {
    super(modules);
  }

  forward(x: Tensor): Tensor {
    for (const m of this) x = m.forward(x);
    return x;
  }
}
