// GPT-2 in the Hugging Face layout: transformers' GPT2Config keys <-> tsformer's GPT2Config.
// Checkpoints come with the "transformer." prefix (as transformers saves GPT2LMHeadModel) or
// without (the original OpenAI conversion, a saved GPT2Model), with lm_head.weight absent (tied)
// or present (then it must equal wte), and with or without the causal-mask buffers h.N.attn.bias.

import { GPT2LMHeadModel, GPT2Model, type GPT2Config } from "../../models/gpt.js";
import { ConfigReader, type HFConfig, type PretrainedSpec } from "./layout.js";

function gpt2ConfigFromHF(hf: HFConfig, where: string): GPT2Config {
  const r = new ConfigReader(hf, where);
  const nEmbd = r.int("n_embd", 768);
  // tsformer's GPT2MLP is 4 * n_embd wide with the tanh GELU ("gelu_new"), scaled dot-product attention
  r.oneOf("activation_function", "gelu_new", ["gelu_new", "gelu_pytorch_tanh"] as const, " (GPT-2's tanh GELU)");
  r.require("n_inner", 4 * nEmbd, `tsformer's GPT-2 MLP is 4 * n_embd = ${4 * nEmbd} wide`);
  r.require("scale_attn_weights", true, "tsformer's GPT-2 scales attention by 1/sqrt(head size)");
  r.require("scale_attn_by_inverse_layer_idx", false, "tsformer's GPT-2 does not scale attention by layer");
  r.require("add_cross_attention", false, "tsformer's GPT-2 has no cross-attention");
  r.require("tie_word_embeddings", true, "tsformer's GPT2LMHeadModel ties its output weights to wte");
  return {
    vocabSize: r.int("vocab_size", 50257),
    nPositions: hf.n_positions !== undefined ? r.int("n_positions", 1024) : r.int("n_ctx", 1024),
    nEmbd,
    nLayer: r.int("n_layer", 12),
    nHead: r.int("n_head", 12),
    layerNormEpsilon: r.num("layer_norm_epsilon", 1e-5),
    embdPdrop: r.num("embd_pdrop", 0.1),
    attnPdrop: r.num("attn_pdrop", 0.1),
    residPdrop: r.num("resid_pdrop", 0.1),
  };
}

function gpt2ConfigToHF(c: GPT2Config): HFConfig {
  return {
    vocab_size: c.vocabSize, n_positions: c.nPositions, n_embd: c.nEmbd, n_layer: c.nLayer, n_head: c.nHead, n_inner: null,
    activation_function: "gelu_new", resid_pdrop: c.residPdrop, embd_pdrop: c.embdPdrop, attn_pdrop: c.attnPdrop,
    layer_norm_epsilon: c.layerNormEpsilon, initializer_range: 0.02, scale_attn_weights: true, tie_word_embeddings: true,
  };
}

const masks = /(^|\.)h\.\d+\.attn\.(masked_)?bias$/;

export const gpt2ModelSpec: PretrainedSpec<GPT2Config, GPT2Model> = {
  architecture: "GPT2Model", modelType: "gpt2", basePrefix: "transformer",
  configFromHF: gpt2ConfigFromHF, configToHF: gpt2ConfigToHF, create: (c) => new GPT2Model(c),
  ignore: [masks, /^lm_head\.weight$/],
};

export const gpt2LMHeadModelSpec: PretrainedSpec<GPT2Config, GPT2LMHeadModel> = {
  architecture: "GPT2LMHeadModel", modelType: "gpt2", basePrefix: "transformer",
  configFromHF: gpt2ConfigFromHF, configToHF: gpt2ConfigToHF, create: (c) => new GPT2LMHeadModel(c),
  ignore: [masks], tied: [["lm_head.weight", "transformer.wte.weight"]],
};
