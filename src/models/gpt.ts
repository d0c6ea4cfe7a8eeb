// GPT-2 (Radford et al. 2019): a decoder-only Transformer with pre-norm blocks, learned
// positions and the output projection tied to the token embedding. Names follow Hugging
// Face's GPT2LMHeadModel, including its Conv1D layers whose weight is [in, out].

import { Dropout, Embedding, LayerNorm, projectWithResidual } from "../nn/layers.js";
import { ModuleList } from "../nn/containers.js";
import { normal_, zeros_ } from "../nn/init.js";
import { Module, Parameter } from "../nn/module.js";
import { multiHeadAttentionFused, multiHeadAttentionPacked } from "../ops/attention.js";
import { add, gelu } from "../ops/elementwise.js";
import { matmulT } from "../ops/matmul.js";
import { linear } from "../ops/functional.js";
import { arange } from "../tensor/creation.js";
import { split } from "../ops/shape.js";
import { cat } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { defaultGenerator, type Generator } from "../tensor/random.js";
import { KVCache } from "../attention/multi-head.js";
import { sampleToken } from "../transformer/decoding.js";

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

/**
 * Small models for this machine, then GPT-2's four sizes (Radford et al. 2019, Table 2; the
 * vocabulary of 50257 byte-level BPE tokens and 1024 positions).
 */
export const gptPresets: Record<string, GPT2Config> = {
  "gpt-tiny": { ...base, vocabSize: 256, nPositions: 128, nEmbd: 64, nLayer: 2, nHead: 2 },
  "gpt-char": { ...base, vocabSize: 128, nPositions: 128, nEmbd: 192, nLayer: 4, nHead: 6 },
  "gpt-mini": { ...base, vocabSize: 5000, nPositions: 256, nEmbd: 384, nLayer: 6, nHead: 6 },
  gpt2: { ...base, vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12 },
  "gpt2-medium": { ...base, vocabSize: 50257, nPositions: 1024, nEmbd: 1024, nLayer: 24, nHead: 16 },
  "gpt2-large": { ...base, vocabSize: 50257, nPositions: 1024, nEmbd: 1280, nLayer: 36, nHead: 20 },
  "gpt2-xl": { ...base, vocabSize: 50257, nPositions: 1024, nEmbd: 1600, nLayer: 48, nHead: 25 },
};

/** A config from a preset with some fields replaced (the vocabulary of a tokenizer, say). */
export function gptConfig(preset: string, overrides: Partial<GPT2Config> = {}): GPT2Config {
  const p = gptPresets[preset];
  if (!p) throw new RangeError(`GPT-2: unknown preset "${preset}" (known: ${Object.keys(gptPresets).join(", ")})`);
  return { ...p, ...overrides };
}

/** GPT-2's "Conv1D": a linear layer stored as [in, out], y = x W + b. */
export class Conv1D extends Module {
  weight: Parameter;
  bias: Parameter;
  constructor(readonly nx: number, readonly nf: number) {
    super();
    this.weight = normal_(new Parameter(new Float32Array(nx * nf), [nx, nf]), 0, 0.02) as Parameter;
    this.bias = new Parameter(new Float32Array(nf), [nf]);
  }
  /** With `residual`, y = x W + b + residual in one GEMM. */
  forward(x: Tensor, residual: Tensor | null = null): Tensor {
    return linear(x, this.weight, this.bias, { weightInOut: true, residual });
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
  /**
   * x [B, T, C] -> [B, T, C] (+ residual, added by c_proj's GEMM unless dropout comes between);
   * with a cache, x holds only the new positions.
   */
  forward(x: Tensor, cache: KVCache | null = null, residual: Tensor | null = null): Tensor {
    const qkv = this.c_attn.forward(x); // [B, T, 3C]
    const project = (y: Tensor): Tensor => projectWithResidual((r) => this.c_proj.forward(y, r), this.resid_dropout, residual);
    if (!cache) {
      // masked self-attention read straight out of the fused projection (no split copies)
      return project(multiHeadAttentionPacked(qkv, this.config.nHead, { causal: true }));
    }
    let [q, k, v] = split(qkv, this.config.nEmbd, 2); // 3 x [B, T, C]
    if (cache.k && cache.v) {
      k = cat([cache.k, k], 1); // the past keys and values, then this step's
      v = cat([cache.v, v], 1);
    }
    cache.k = k;
    cache.v = v;
    // masked self-attention; with a cache the causal mask aligns the new queries with the last keys
    return project(multiHeadAttentionFused(q, k, v, this.config.nHead, { causal: true }));
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
  /** (+ residual, added by c_proj's GEMM unless dropout comes between) */
  forward(x: Tensor, residual: Tensor | null = null): Tensor {
    const h = gelu(this.c_fc.forward(x), "tanh");
    return projectWithResidual((r) => this.c_proj.forward(h, r), this.dropout, residual);
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
  forward(x: Tensor, cache: KVCache | null = null): Tensor {
    x = this.attn.forward(this.ln_1.forward(x), cache, x); // x + attn(ln_1(x))
    return this.mlp.forward(this.ln_2.forward(x), x); // x + mlp(ln_2(x))
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

  /**
   * int32 ids [B, T] -> hidden states [B, T, C]. With caches (one per layer, from newCaches),
   * the ids are the positions after those already cached, which are not recomputed.
   */
  forward(inputIds: Tensor, options: { caches?: KVCache[] | null } = {}): { lastHiddenState: Tensor } {
    const [, T] = inputIds.shape;
    if (inputIds.ndim !== 2) throw new RangeError(`GPT-2: input ids must be [B, T], got ${formatShape(inputIds.shape)}`);
    const caches = options.caches ?? null;
    const past = caches ? caches[0].length : 0;
    if (past + T > this.config.nPositions) {
      throw new RangeError(`GPT-2: sequence length ${past + T} exceeds the context window of ${this.config.nPositions} positions`);
    }
    const pos = arange(past, past + T, 1, { dtype: "int32" });
    let x = this.drop.forward(add(this.wte.forward(inputIds), this.wpe.forward(pos)));
    let i = 0;
    for (const block of this.h) x = block.forward(x, caches ? caches[i++] : null);
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
  forward(inputIds: Tensor, options: { caches?: KVCache[] | null } = {}): { logits: Tensor } {
    const h = this.transformer.forward(inputIds, options).lastHiddenState;
    return { logits: matmulT(h, this.transformer.wte.weight, false, true) };
  }

  /** One empty key/value cache per layer. */
  newCaches(): KVCache[] {
    return Array.from({ length: this.config.nLayer }, () => new KVCache());
  }

  /**
   * Continue a prompt token by token (§2: p(x) = prod p(s_n | s_1..s_{n-1})), feeding each
   * choice back in. The key/value cache makes each new token cost O(T), not O(T^2).
   * See GenerateOptions for sampling, the stop token and what happens at the context limit.
   */
  generate(prompt: readonly number[], options: GenerateOptions): number[] {
    const ctx = this.config.nPositions;
    const V = this.config.vocabSize;
    for (let i = 0; i < prompt.length; i++) {
      if (!Number.isInteger(prompt[i]) || prompt[i] < 0 || prompt[i] >= V) {
        throw new RangeError(`GPT-2 generate: prompt token ${i} is ${prompt[i]}, outside the vocabulary [0, ${V})`);
      }
    }
    if (prompt.length === 0) throw new RangeError("GPT-2 generate: the prompt is empty (give at least one token, e.g. a start or newline token)");
    let context = [...prompt];
    if (context.length > ctx) {
      if (!options.truncatePrompt) {
        throw new RangeError(`GPT-2 generate: the prompt has ${context.length} tokens, more than the context window of ${ctx}; shorten it or pass truncatePrompt (keeps the last ${ctx})`);
      }
      context = context.slice(-ctx);
    }
    const g = options.generator ?? defaultGenerator;
    const greedy = options.temperature === 0;
    const out: number[] = [];
    const wasTraining = this.training;
    this.eval();
    noGrad(() => {
      let caches = this.newCaches();
      let input = context; // tokens the model has not seen yet
      for (let n = 0; n < options.maxNewTokens; n++) {
        if (caches[0].length + input.length > ctx) {
          // the window is full: restart from its last half (one full pass every ctx/2 tokens)
          context = context.slice(-Math.floor(ctx / 2));
          caches = this.newCaches();
          input = context;
        }
        const logits = this.forward(new Tensor(Int32Array.from(input), [1, input.length]), { caches }).logits; // [1, t, V]
        const last = logits.data.subarray((input.length - 1) * V, input.length * V) as Float32Array;
        let tok: number;
        if (greedy) {
          tok = 0;
          for (let j = 1; j < V; j++) if (last[j] > last[tok]) tok = j;
        } else tok = sampleToken(last, options, g);
        out.push(tok);
        if (options.eos !== undefined && tok === options.eos) break;
        context.push(tok);
        input = [tok];
      }
    });
    this.train(wasTraining);
    return out;
  }
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 picks the most likely token (greedy); default 1. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = all). */
  topK?: number;
  /** Nucleus sampling: the smallest set reaching probability p (1 = all). */
  topP?: number;
  /** Stop after generating this token (it is included in the output). */
  eos?: number;
  /** A prompt longer than the context window is an error unless this is set: then its last nPositions tokens are kept. */
  truncatePrompt?: boolean;
  generator?: Generator;
}
