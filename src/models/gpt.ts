// GPT-2 (Radford et al. 2019): a decoder-only Transformer with pre-norm blocks, learned
// positions and the output projection tied to the token embedding. Names follow Hugging
// Face's GPT2LMHeadModel, including its Conv1D layers whose weight is [in, out].

import { Dropout, Embedding, LayerNorm } from "../nn/layers.js";
import { ModuleList } from "../nn/containers.js";
import { normal_, zeros_ } from "../nn/init.js";
import { Module, Parameter } from "../nn/module.js";
import { multiHeadAttentionFused } from "../ops/attention.js";
import { add, gelu } from "../ops/elementwise.js";
import { matmulT } from "../ops/matmul.js";
import { linear } from "../ops/functional.js";
import { arange } from "../tensor/creation.js";
import { split } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";

export interface GPT2Config {
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  layerNormEpsilon: number;
  embdPdrop: number;
  attnPdrop: number;
  residPdrop: number;
}

const base = { layerNormEpsilon: 1e-5, embdPdrop: 0.1, attnPdrop: 0.1, residPdrop: 0.1 };

export const gptPresets: Record<string, GPT2Config> = {
  "gpt-tiny": { ...base, vocabSize: 256, nPositions: 128, nEmbd: 64, nLayer: 2, nHead: 2 },
  "gpt-mini": { ...base, vocabSize: 5000, nPositions: 256, nEmbd: 384, nLayer: 6, nHead: 6 },
  gpt2: { ...base, vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12 },
};

/** GPT-2's "Conv1D": a linear layer stored as [in, out], y = x W + b. */
export class Conv1D extends Module {
  weight: Parameter;
  bias: Parameter;
  constructor(readonly nx: number, readonly nf: number) {
    super();
    this.weight = normal_(new Parameter(new Float32Array(nx * nf), [nx, nf]), 0, 0.02) as Parameter;
    this.bias = new Parameter(new Float32Array(nf), [nf]);
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias, { weightInOut: true });
  }
}

export class GPT2Attention extends Module {
  c_attn: Conv1D;
  c_proj: Conv1D;
  resid_dropout: Dropout;
  constructor(readonly config: GPT2Config) {
    super();
    const C = config.nEmbd;
    if (C % config.nHead !== 0) throw new RangeError(`GPT-2: n_embd ${C} is not divisible by ${config.nHead} heads`);
    this.c_attn = new Conv1D(C, 3 * C);
    this.c_proj = new Conv1D(C, C);
    this.resid_dropout = new Dropout(config.residPdrop);
  }
  forward(x: Tensor): Tensor {
    const [q, k, v] = split(this.c_attn.forward(x), this.config.nEmbd, 2); // 3 x [B, T, C]
    const y = multiHeadAttentionFused(q, k, v, this.config.nHead, { causal: true }); // masked self-attention
    return this.resid_dropout.forward(this.c_proj.forward(y));
  }
}

export class GPT2MLP extends Module {
  c_fc: Conv1D;
  c_proj: Conv1D;
  dropout: Dropout;
  constructor(config: GPT2Config) {
    super();
    this.c_fc = new Conv1D(config.nEmbd, 4 * config.nEmbd);
    this.c_proj = new Conv1D(4 * config.nEmbd, config.nEmbd);
    this.dropout = new Dropout(config.residPdrop);
  }
  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.c_proj.forward(gelu(this.c_fc.forward(x), "tanh")));
  }
}

export class GPT2Block extends Module {
  ln_1: LayerNorm;
  attn: GPT2Attention;
  ln_2: LayerNorm;
  mlp: GPT2MLP;
  constructor(config: GPT2Config) {
    super();
    this.ln_1 = new LayerNorm(config.nEmbd, config.layerNormEpsilon);
    this.attn = new GPT2Attention(config);
    this.ln_2 = new LayerNorm(config.nEmbd, config.layerNormEpsilon);
    this.mlp = new GPT2MLP(config);
  }
  forward(x: Tensor): Tensor {
    x = add(x, this.attn.forward(this.ln_1.forward(x)));
    return add(x, this.mlp.forward(this.ln_2.forward(x)));
  }
}

export class GPT2Model extends Module {
  wte: Embedding;
  wpe: Embedding;
  drop: Dropout;
  h: ModuleList<GPT2Block>;
  ln_f: LayerNorm;

  constructor(readonly config: GPT2Config) {
    super();
    this.wte = new Embedding(config.vocabSize, config.nEmbd);
    this.wpe = new Embedding(config.nPositions, config.nEmbd);
    normal_(this.wte.weight, 0, 0.02);
    normal_(this.wpe.weight, 0, 0.01);
    this.drop = new Dropout(config.embdPdrop);
    this.h = new ModuleList(Array.from({ length: config.nLayer }, () => new GPT2Block(config)));
    this.ln_f = new LayerNorm(config.nEmbd, config.layerNormEpsilon);
    // GPT-2 scales the residual projections by 1/sqrt(2 * n_layer) at init
    for (const b of this.h) for (const p of [b.attn.c_proj.weight, b.mlp.c_proj.weight]) normal_(p, 0, 0.02 / Math.sqrt(2 * config.nLayer));
    for (const b of this.h) zeros_(b.attn.c_attn.bias);
  }

  /** int32 ids [B, T] -> hidden states [B, T, C] */
  forward(inputIds: Tensor): { lastHiddenState: Tensor } {
    const [, T] = inputIds.shape;
    if (inputIds.ndim !== 2) throw new RangeError(`GPT-2: input ids must be [B, T], got ${formatShape(inputIds.shape)}`);
    if (T > this.config.nPositions) {
      throw new RangeError(`GPT-2: sequence length ${T} exceeds the context window of ${this.config.nPositions} positions`);
    }
    const pos = arange(T);
    let x = this.drop.forward(add(this.wte.forward(inputIds), this.wpe.forward(pos)));
    for (const block of this.h) x = block.forward(x);
    return { lastHiddenState: this.ln_f.forward(x) };
  }
}

export class GPT2LMHeadModel extends Module {
  transformer: GPT2Model;

  constructor(readonly config: GPT2Config) {
    super();
    this.transformer = new GPT2Model(config);
  }

  /** Logits over the vocabulary, the output projection tied to wte: [B, T, V]. */
  forward(inputIds: Tensor): { logits: Tensor } {
    const h = this.transformer.forward(inputIds).lastHiddenState;
    return { logits: matmulT(h, this.transformer.wte.weight, false, true) };
  }
}
