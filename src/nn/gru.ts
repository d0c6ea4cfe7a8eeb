// Gated recurrent units (Cho et al. 2014), with PyTorch's equations, parameter layout and
// names, so weights move between the two unchanged:
//
//   r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate
//   z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate
//   n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))       candidate
//   h' = (1 - z) * n + z * h
//
// weight_ih [3H, I] and weight_hh [3H, H] stack the gates in the order r, z, n; every
// parameter starts U(-1/sqrt(H), 1/sqrt(H)). `GRU` runs a sequence batch_first [B, T, C]
// one step at a time (the recurrence is sequential: that is the point of the baseline),
// with stacked layers and an optional backward direction (names suffixed `_reverse`).

import { add, mul, sigmoid, sub, tanh } from "../ops/elementwise.js";
import { linear } from "../ops/functional.js";
import { cat, narrow, reshape, split, stack } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { zeros } from "../tensor/creation.js";
import { uniform_ } from "./init.js";
import { Module, Parameter } from "./module.js";

function param(shape: number[], bound: number): Parameter {
  const p = new Parameter(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  uniform_(p, -bound, bound);
  return p;
}

/**
 * One GRU step from precomputed input gates gi = W_ih x + b_ih [B, 3H] and the previous state
 * h [B, H]: the recurrent half of the equations above.
 */
function gruStep(gi: Tensor, h: Tensor, weightHh: Tensor, biasHh: Tensor | null): Tensor {
  const H = h.shape[1];
  const gh = linear(h, weightHh, biasHh); // [B, 3H]
  const [ir, iz, inn] = split(gi, H, 1);
  const [hr, hz, hn] = split(gh, H, 1);
  const r = sigmoid(add(ir, hr));
  const z = sigmoid(add(iz, hz));
  const n = tanh(add(inn, mul(r, hn)));
  return add(n, mul(z, sub(h, n))); // (1 - z) n + z h
}

/** A single GRU step: x [B, I], h [B, H] -> h' [B, H] (torch.nn.GRUCell). */
export class GRUCell extends Module {
  weight_ih: Parameter;
  weight_hh: Parameter;
  bias_ih: Parameter | null;
  bias_hh: Parameter | null;

  constructor(readonly inputSize: number, readonly hiddenSize: number, options: { bias?: boolean } = {}) {
    super();
    if (!(inputSize >= 1 && hiddenSize >= 1)) throw new RangeError(`GRUCell: sizes must be >= 1, got input ${inputSize}, hidden ${hiddenSize}`);
    const k = 1 / Math.sqrt(hiddenSize);
    this.weight_ih = param([3 * hiddenSize, inputSize], k);
    this.weight_hh = param([3 * hiddenSize, hiddenSize], k);
    const bias = options.bias ?? true;
    this.bias_ih = bias ? param([3 * hiddenSize], k) : null;
    this.bias_hh = bias ? param([3 * hiddenSize], k) : null;
  }

  forward(x: Tensor, h?: Tensor | null): Tensor {
    if (x.ndim !== 2 || x.shape[1] !== this.inputSize) {
      throw new RangeError(`GRUCell: input must be [B, ${this.inputSize}], got ${formatShape(x.shape)}`);
    }
    const B = x.shape[0];
    const h0 = h ?? zeros([B, this.hiddenSize]);
    if (h0.ndim !== 2 || h0.shape[0] !== B || h0.shape[1] !== this.hiddenSize) {
      throw new RangeError(`GRUCell: hidden state must be [${B}, ${this.hiddenSize}], got ${formatShape(h0.shape)}`);
    }
    return gruStep(linear(x, this.weight_ih, this.bias_ih), h0, this.weight_hh, this.bias_hh);
  }
}

export interface GRUOptions {
  numLayers?: number;
  bias?: boolean;
  bidirectional?: boolean;
}

export interface GRUOutput {
  /** [B, T, D * H], both directions concatenated (forward first); zeros at padded steps. */
  output: Tensor;
  /** [L * D, B, H], the final state of each layer and direction (PyTorch's h_n). */
  hN: Tensor;
}

/** A multi-layer, optionally bidirectional GRU over batch_first sequences (torch.nn.GRU, batch_first=True). */
export class GRU extends Module {
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly bias: boolean;

  constructor(readonly inputSize: number, readonly hiddenSize: number, options: GRUOptions = {}) {
    super();
    this.numLayers = options.numLayers ?? 1;
    this.bidirectional = options.bidirectional ?? false;
    this.bias = options.bias ?? true;
    if (!(inputSize >= 1 && hiddenSize >= 1)) throw new RangeError(`GRU: sizes must be >= 1, got input ${inputSize}, hidden ${hiddenSize}`);
    if (!(Number.isInteger(this.numLayers) && this.numLayers >= 1)) throw new RangeError(`GRU: numLayers must be a positive integer, got ${this.numLayers}`);
    const k = 1 / Math.sqrt(hiddenSize);
    const dirs = this.bidirectional ? 2 : 1;
    for (let l = 0; l < this.numLayers; l++) {
      const inSize = l === 0 ? inputSize : hiddenSize * dirs;
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
        this.registerParameter(`weight_ih${sfx}`, param([3 * hiddenSize, inSize], k));
        this.registerParameter(`weight_hh${sfx}`, param([3 * hiddenSize, hiddenSize], k));
        if (this.bias) {
          this.registerParameter(`bias_ih${sfx}`, param([3 * hiddenSize], k));
          this.registerParameter(`bias_hh${sfx}`, param([3 * hiddenSize], k));
        }
      }
    }
  }

  private p(name: string): Parameter | null {
    return (this.stateDict()[name] as Parameter | undefined) ?? null;
  }

  /**
   * x [B, T, inputSize]; h0 [L * D, B, H] or null (zeros); lengths (optional, one per row) mark
   * the real steps of padded rows: past its length a row's state stops changing and its outputs
   * are zero, and the reverse direction starts at the row's last real step (like a packed sequence).
   */
  forward(x: Tensor, h0?: Tensor | null, lengths?: ArrayLike<number> | null): GRUOutput {
    if (x.ndim !== 3 || x.shape[2] !== this.inputSize) {
      throw new RangeError(`GRU: input must be [B, T, ${this.inputSize}] (batch_first), got ${formatShape(x.shape)}`);
    }
    const [B, T] = x.shape;
    const H = this.hiddenSize, dirs = this.bidirectional ? 2 : 1;
    if (h0 && (h0.ndim !== 3 || h0.shape[0] !== this.numLayers * dirs || h0.shape[1] !== B || h0.shape[2] !== H)) {
      throw new RangeError(`GRU: h0 must be [${this.numLayers * dirs}, ${B}, ${H}], got ${formatShape(h0.shape)}`);
    }
    let masks: Tensor[] | null = null;
    if (lengths) {
      if (lengths.length !== B) throw new RangeError(`GRU: ${lengths.length} lengths for a batch of ${B}`);
      masks = [];
      for (let t = 0; t < T; t++) {
        const m = new Float32Array(B);
        for (let b = 0; b < B; b++) {
          const len = lengths[b];
          if (!(Number.isInteger(len) && len >= 0 && len <= T)) throw new RangeError(`GRU: length ${len} of row ${b} is outside 0..${T}`);
          m[b] = t < len ? 1 : 0;
        }
        masks.push(new Tensor(m, [B, 1]));
      }
    }
    const params = this.stateDict();
    const finals: Tensor[] = [];
    let input = x;
    for (let l = 0; l < this.numLayers; l++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
        const wih = params[`weight_ih${sfx}`], whh = params[`weight_hh${sfx}`];
        const bih = this.bias ? params[`bias_ih${sfx}`] : null, bhh = this.bias ? params[`bias_hh${sfx}`] : null;
        // the input half of every gate for every step at once: one GEMM, then per-step pieces
        const gi = split(reshape(linear(input, wih, bih), [B, T, 3 * H]), 1, 1).map((g) => reshape(g, [B, 3 * H]));
        let h = h0 ? reshape(narrow(h0, 0, l * dirs + d, 1), [B, H]) : zeros([B, H]);
        const steps: Tensor[] = new Array(T);
        for (let s = 0; s < T; s++) {
          const t = d === 0 ? s : T - 1 - s;
          const hNew = gruStep(gi[t], h, whh, bhh);
          if (masks) {
            h = add(h, mul(masks[t], sub(hNew, h))); // padded steps keep the state
            steps[t] = mul(masks[t], h);
          } else {
            h = hNew;
            steps[t] = h;
          }
        }
        finals.push(h);
        outs.push(T > 0 ? stack(steps, 1) : zeros([B, 0, H]));
      }
      input = dirs === 1 ? outs[0] : cat(outs, 2);
    }
    return { output: input, hN: stack(finals, 0) };
  }

  /** The parameter tensor of one layer and direction, by PyTorch's name (e.g. "weight_hh_l0_reverse"). */
  parameter(name: string): Parameter {
    const p = this.p(name);
    if (!p) throw new RangeError(`GRU: no parameter "${name}"`);
    return p;
  }
}
