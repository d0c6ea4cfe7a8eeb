// ViT in the Hugging Face layout: transformers' ViTConfig keys <-> tsformer's ViTConfig.

import { ViTForImageClassification, ViTModel, ViTPatchEmbeddings, type ViTConfig } from "../../models/vit.js";
import { ConfigReader, type HFConfig, type PretrainedSpec } from "./layout.js";

function vitConfigFromHF(hf: HFConfig, where: string): ViTConfig {
  const r = new ConfigReader(hf, where);
  // tsformer's ViT computes the exact (erf) GELU, which is what "gelu" means in transformers
  r.oneOf("hidden_act", "gelu", ["gelu"] as const);
  const size = hf.image_size;
  if (Array.isArray(size) && (size.length !== 2 || size[0] !== size[1])) {
    throw new Error(`fromPretrained: ${where}: "image_size" ${JSON.stringify(size)} is not square; tsformer's ViT takes square images`);
  }
  const patch = hf.patch_size;
  if (Array.isArray(patch) && (patch.length !== 2 || patch[0] !== patch[1])) {
    throw new Error(`fromPretrained: ${where}: "patch_size" ${JSON.stringify(patch)} is not square`);
  }
  const sq = (k: string, fallback: number) => new ConfigReader({ [k]: Array.isArray(hf[k]) ? (hf[k] as number[])[0] : hf[k] }, where).int(k, fallback);
  return {
    imageSize: sq("image_size", 224),
    patchSize: sq("patch_size", 16),
    numChannels: r.int("num_channels", 3),
    hiddenSize: r.int("hidden_size", 768),
    numHiddenLayers: r.int("num_hidden_layers", 12),
    numAttentionHeads: r.int("num_attention_heads", 12),
    intermediateSize: r.int("intermediate_size", 3072),
    numLabels: r.numLabels(),
    layerNormEps: r.num("layer_norm_eps", 1e-12),
    hiddenDropoutProb: r.num("hidden_dropout_prob", 0),
    attentionProbsDropoutProb: r.num("attention_probs_dropout_prob", 0),
    qkvBias: r.bool("qkv_bias", true),
  };
}

function vitConfigToHF(c: ViTConfig): HFConfig {
  return {
    hidden_size: c.hiddenSize, num_hidden_layers: c.numHiddenLayers, num_attention_heads: c.numAttentionHeads,
    intermediate_size: c.intermediateSize, hidden_act: "gelu", hidden_dropout_prob: c.hiddenDropoutProb,
    attention_probs_dropout_prob: c.attentionProbsDropoutProb, initializer_range: 0.02, layer_norm_eps: c.layerNormEps,
    image_size: c.imageSize, patch_size: c.patchSize, num_channels: c.numChannels, qkv_bias: c.qkvBias, encoder_stride: c.patchSize,
  };
}

// transformers' ViTModel has a pooler (dense + tanh on [CLS]) that tsformer's does not:
// checkpoints that carry it load, the pooler is left out.
const ignore = [/(^|\.)pooler\.dense\.(weight|bias)$/];

/** A hybrid ViT (CNN patch embeddings) has no transformers ViT layout. */
export function checkPlainViT(model: ViTModel | ViTForImageClassification): void {
  const vit = model instanceof ViTForImageClassification ? model.vit : model;
  if (!(vit.embeddings.patch_embeddings instanceof ViTPatchEmbeddings)) {
    throw new Error(`savePretrained: this ViT embeds patches with ${(vit.embeddings.patch_embeddings as object).constructor.name}, not the linear projection of transformers' ViT layout`);
  }
}

export const vitModelSpec: PretrainedSpec<ViTConfig, ViTModel> = {
  architecture: "ViTModel", modelType: "vit", basePrefix: "vit",
  configFromHF: vitConfigFromHF, configToHF: vitConfigToHF, create: (c) => new ViTModel(c), ignore, checkSavable: checkPlainViT,
};

export const vitForImageClassificationSpec: PretrainedSpec<ViTConfig, ViTForImageClassification> = {
  architecture: "ViTForImageClassification", modelType: "vit", basePrefix: "vit",
  configFromHF: vitConfigFromHF, configToHF: vitConfigToHF, create: (c) => new ViTForImageClassification(c), ignore, checkSavable: checkPlainViT,
  numLabels: (c) => c.numLabels,
};
