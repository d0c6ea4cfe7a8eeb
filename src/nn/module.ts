// Module: the base of every layer and model. Parameters and child modules are found
// automatically from the object's own properties, in declaration order, and get dotted names
// ("encoder.layer.0.attention.query.weight") that checkpoints use as a public contract.

import { formatShape, shapesEqual } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { releaseGradient } from "../tensor/tidy.js";

/** A tensor that a Module owns and an optimizer updates. */
export class Parameter extends Tensor {
  constructor(data: Tensor | Float32Array, shape?: readonly number[]) {
    if (data instanceof Tensor) {
      if (data.dtype !== "float32") throw new TypeError(`Parameter: parameters must be float32, got ${data.dtype}`);
      super(data.data.slice(), data.shape, true);
    } else {
      super(data, shape ?? [data.length], true);
    }
  }
}

export class Module {
  /** Training mode switches dropout on (and anything else that differs at inference). */
  training = true;
  private _buffers = new Map<string, Tensor>();
  private _extraParams = new Map<string, Parameter | null>();
  private _extraModules = new Map<string, Module | null>();

  /** Register a parameter under an explicit name (for names that are not valid properties). */
  registerParameter(name: string, p: Parameter | null): void {
    this._extraParams.set(name, p);
  }

  registerModule(name: string, m: Module | null): void {
    this._extraModules.set(name, m);
  }

  /** A tensor that is state but not trained (running statistics, fixed tables). */
  registerBuffer(name: string, t: Tensor): void {
    this._buffers.set(name, t);
  }

  getBuffer(name: string): Tensor {
    const b = this._buffers.get(name);
    if (!b) throw new Error(`${this.constructor.name}: no buffer named "${name}"`);
    return b;
  }

  /** Own parameters and children, in declaration order. */
  private *ownEntries(): Generator<[string, Parameter | Module]> {
    for (const [key, value] of Object.entries(this)) {
      if (key.startsWith("_")) continue;
      if (value instanceof Parameter || value instanceof Module) yield [key, value];
    }
    for (const [k, v] of this._extraParams) if (v) yield [k, v];
    for (const [k, v] of this._extraModules) if (v) yield [k, v];
  }

  *namedChildren(): Generator<[string, Module]> {
    for (const [k, v] of this.ownEntries()) if (v instanceof Module) yield [k, v];
  }

  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /** This module and every module below it, with dotted names ("" for this one). */
  *namedModules(prefix = ""): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [k, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${k}` : k);
  }

  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  /** Every parameter with its dotted name; a shared parameter is listed once. */
  namedParameters(prefix = ""): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    const walk = (m: Module, pre: string): void => {
      for (const [k, v] of m.ownEntries()) {
        const name = pre ? `${pre}.${k}` : k;
        if (v instanceof Parameter) {
          if (!seen.has(v)) {
            seen.add(v);
            out.push([name, v]);
          }
        } else walk(v, name);
      }
    };
    walk(this, prefix);
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, m] of this.namedModules(prefix)) {
      for (const [k, b] of m._buffers) out.push([name ? `${name}.${k}` : k, b]);
    }
    return out;
  }

  /** Number of trainable values. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Drop every gradient (set to none); inside tidy() their memory is reused (releaseGradient). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      if (p.grad) releaseGradient(p.grad);
      p.grad = null;
    }
  }

  /** Parameters and buffers by dotted name (the tensors themselves, not copies). */
  stateDict(): Record<string, Tensor> {
    const sd: Record<string, Tensor> = {};
    for (const [n, p] of this.namedParameters()) sd[n] = p;
    for (const [n, b] of this.namedBuffers()) sd[n] = b;
    return sd;
  }

  /**
   * Copy values from a state dict. strict (default) refuses missing or unexpected names;
   * a shape mismatch is always an error. The error lists every problem at once.
   */
  loadStateDict(sd: Record<string, Tensor>, options: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in sd));
    const unexpected = Object.keys(sd).filter((k) => !(k in own));
    const misShaped = Object.keys(own)
      .filter((k) => k in sd && !shapesEqual(own[k].shape, sd[k].shape))
      .map((k) => `${k}: expected ${formatShape(own[k].shape)}, got ${formatShape(sd[k].shape)}`);
    const problems: string[] = [];
    if (misShaped.length) problems.push(`mis-shaped: ${misShaped.join("; ")}`);
    if (strict && missing.length) problems.push(`missing: ${missing.join(", ")}`);
    if (strict && unexpected.length) problems.push(`unexpected: ${unexpected.join(", ")}`);
    if (problems.length) throw new Error(`loadStateDict (${this.constructor.name}): ${problems.join(" | ")}`);
    for (const k of Object.keys(own)) {
      if (!(k in sd)) continue;
      const src = sd[k];
      if (src.dtype !== own[k].dtype) {
        throw new TypeError(`loadStateDict: ${k} has dtype ${src.dtype}, expected ${own[k].dtype}`);
      }
      own[k].data.set(src.data);
    }
    return { missing, unexpected };
  }
}
