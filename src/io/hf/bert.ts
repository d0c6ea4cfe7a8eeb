// BERT in the Hugging Face layout: transformers' BertConfig keys <-> tsformer's BertConfig.
// Old TensorFlow conversions name LayerNorm's parameters gamma/beta (renamed on load, as
// transformers does); BertForPreTraining checkpoints carry an NSP head and BertForMaskedLM's
// tied decoder copies, which load into the models that use them and are checked or dropped.

import { BertForMaskedLM, BertForSequenceClassification, BertModel, type BertActivation, type BertConfig } from "../../models/bert.js";
import { ConfigReader, type HFConfig, type PretrainedSpec } from "./layout.js";
import { attachPretrained, type Pretrained, type SavesPretrained } from "./pretrained.js";

function bertConfigFromHF(hf: HFConfig, where: string): BertConfig {
  const r = new ConfigReader(hf, where);
  const act = r.oneOf("hidden_act", "gelu", ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"] as const);
  r.oneOf("position_embedding_type", "absolute", ["absolute"] as const);
  r.require("is_decoder", false, "tsformer's BERT is an encoder");
  r.require("add_cross_attention", false, "tsformer's BERT has no cross-attention");
  return {
    vocabSize: r.int("vocab_size", 30522),
    hiddenSize: r.int("hidden_size", 768),
    numHiddenLayers: r.int("num_hidden_layers", 12),
    numAttentionHeads: r.int("num_attention_heads", 12),
    intermediateSize: r.int("intermediate_size", 3072),
    hiddenAct: (act === "gelu_pytorch_tanh" ? "gelu_new" : act) as BertActivation,
    hiddenDropoutProb: r.num("hidden_dropout_prob", 0.1),
    attentionProbsDropoutProb: r.num("attention_probs_dropout_prob", 0.1),
    maxPositionEmbeddings: r.int("max_position_embeddings", 512),
    typeVocabSize: r.int("type_vocab_size", 2),
    initializerRange: r.num("initializer_range", 0.02),
    layerNormEps: r.num("layer_norm_eps", 1e-12),
    padTokenId: hf.pad_token_id === null ? -1 : r.int("pad_token_id", 0, 0),
    numLabels: r.numLabels(),
  };
}

function bertConfigToHF(c: BertConfig): HFConfig {
  return {
    vocab_size: c.vocabSize, hidden_size: c.hiddenSize, num_hidden_layers: c.numHiddenLayers, num_attention_heads: c.numAttentionHeads,
    intermediate_size: c.intermediateSize, hidden_act: c.hiddenAct, hidden_dropout_prob: c.hiddenDropoutProb,
    attention_probs_dropout_prob: c.attentionProbsDropoutProb, max_position_embeddings: c.maxPositionEmbeddings,
    type_vocab_size: c.typeVocabSize, initializer_range: c.initializerRange, layer_norm_eps: c.layerNormEps,
    pad_token_id: c.padTokenId < 0 ? null : c.padTokenId, position_embedding_type: "absolute",
  };
}

// an int64 buffer older checkpoints carry; the next-sentence head of BertForPreTraining
const positionIds = /(^|\.)embeddings\.position_ids$/, nsp = /^cls\.seq_relationship\./;

export const bertModelSpec: PretrainedSpec<BertConfig, BertModel> = {
  architecture: "BertModel", modelType: "bert", basePrefix: "bert",
  configFromHF: bertConfigFromHF, configToHF: bertConfigToHF, create: (c) => new BertModel(c), ignore: [positionIds, nsp],
};

export const bertForMaskedLMSpec: PretrainedSpec<BertConfig, BertForMaskedLM> = {
  architecture: "BertForMaskedLM", modelType: "bert", basePrefix: "bert",
  configFromHF: bertConfigFromHF, configToHF: bertConfigToHF, create: (c) => new BertForMaskedLM(c),
  // BertForMaskedLM has no pooler: a pre-training checkpoint's pooler is left out
  ignore: [positionIds, nsp, /^bert\.pooler\./],
  tied: [["cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight"], ["cls.predictions.decoder.bias", "cls.predictions.bias"]],
};

export const bertForSequenceClassificationSpec: PretrainedSpec<BertConfig, BertForSequenceClassification> = {
  architecture: "BertForSequenceClassification", modelType: "bert", basePrefix: "bert",
  configFromHF: bertConfigFromHF, configToHF: bertConfigToHF, create: (c) => new BertForSequenceClassification(c),
  ignore: [positionIds, nsp], numLabels: (c) => c.numLabels,
};

declare module "../../models/bert.js" {
  interface BertModel extends SavesPretrained {}
  interface BertForMaskedLM extends SavesPretrained {}
  interface BertForSequenceClassification extends SavesPretrained {}
  namespace BertModel { const fromPretrained: Pretrained<BertModel>["fromPretrained"]; }
  namespace BertForMaskedLM { const fromPretrained: Pretrained<BertForMaskedLM>["fromPretrained"]; }
  namespace BertForSequenceClassification { const fromPretrained: Pretrained<BertForSequenceClassification>["fromPretrained"]; }
}

attachPretrained(BertModel, bertModelSpec);
attachPretrained(BertForMaskedLM, bertForMaskedLMSpec);
attachPretrained(BertForSequenceClassification, bertForSequenceClassificationSpec);
