// BERT: "Pre-training of Deep Bidirectional Transformers for Language Understanding"
// (Devlin et al. 2019).
//
// An encoder-only Transformer (§3): the input is the sum of token, position and segment
// embeddings (Figure 2), each layer is the post-norm block of Vaswani et al. with a GELU
// feed-forward, and two heads sit on top: the masked language model (§3.1, Task #1) that
// predicts masked tokens from both sides, and a classifier over the pooled [CLS] state (§3.2).
// Parameter names follow Hugging Face's BertModel / BertForMaskedLM /
// BertForSequenceClassification, so checkpoints interchange.

import { Dropout, Embedding, LayerNorm, Linear, fusedLinear } from "../nn/layers.js";
import { ModuleList } from "../nn/containers.js";
import { normal_, zeros_ } from "../nn/init.js";
import { Module, Parameter } from "../nn/module.js";
import { multiHeadAttentionPacked } from "../ops/attention.js";
import { add, gelu, mul, relu, tanh } from "../ops/elementwise.js";
import { matmulT } from "../ops/matmul.js";
import { narrow, reshape } from "../ops/shape.js";
import { arange } from "../tensor/creation.js";
import { formatShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";

export type BertActivation = "gelu" | "gelu_new" | "relu";

/** Hugging Face's BertConfig fields, in camelCase. */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  /** "gelu" is the exact erf form (BERT's), "gelu_new" the tanh approximation. */
  hiddenAct: BertActivation;
  hiddenDropoutProb: number;
  /**
   * Dropout on the attention probabilities. The fused attention kernel never materialises
   * the weights, so this is recorded for checkpoints but not applied.
   */
  attentionProbsDropoutProb: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  initializerRange: number;
  layerNormEps: number;
  padTokenId: number;
  /** Classes of BertForSequenceClassification. */
  numLabels: number;
}

const base = {
  vocabSize: 30522, hiddenAct: "gelu" as const, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1,
  maxPositionEmbeddings: 512, typeVocabSize: 2, initializerRange: 0.02, layerNormEps: 1e-12, padTokenId: 0, numLabels: 2,
};

/**
 * The paper's BERT-base and -large (§3) and the smaller ones of Turc et al. 2019 ("Well-Read
 * Students Learn Better", google/bert_uncased_L-*_H-*), all with the uncased 30522-word vocabulary.
 */
export const bertPresets: Record<string, BertConfig> = {
  "bert-tiny": { ...base, hiddenSize: 128, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 512 },
  "bert-mini": { ...base, hiddenSize: 256, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 1024 },
  "bert-small": { ...base, hiddenSize: 512, numHiddenLayers: 4, numAttentionHeads: 8, intermediateSize: 2048 },
  "bert-medium": { ...base, hiddenSize: 512, numHiddenLayers: 8, numAttentionHeads: 8, intermediateSize: 2048 },
  "bert-base": { ...base, hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12, intermediateSize: 3072 },
  "bert-large": { ...base, hiddenSize: 1024, numHiddenLayers: 24, numAttentionHeads: 16, intermediateSize: 4096 },
};

/** A config from a preset with some fields replaced (a smaller vocabulary, say). */
export function bertConfig(preset: string, overrides: Partial<BertConfig> = {}): BertConfig {
  const p = bertPresets[preset];
  if (!p) throw new RangeError(`BERT: unknown preset "${preset}" (known: ${Object.keys(bertPresets).join(", ")})`);
  return { ...p, ...overrides };
}

function activate(x: Tensor, act: BertActivation): Tensor {
  if (act === "relu") return relu(x);
  return gelu(x, act === "gelu_new" ? "tanh" : "none");
}

export interface BertInputs {
  /** 1 for real tokens, 0 for padding: int32 [B, T]. Padding keys get no attention. */
  attentionMask?: Tensor | null;
  /** Segment A (0) or B (1) per token: int32 [B, T]; zeros when absent. */
  tokenTypeIds?: Tensor | null;
}

function checkIds(what: string, ids: Tensor, B: number, T: number, limit: number): void {
  if (ids.dtype !== "int32" || ids.ndim !== 2 || ids.shape[0] !== B || ids.shape[1] !== T) {
    throw new RangeError(`BERT: ${what} must be int32 [${B}, ${T}] like input ids, got ${ids.dtype} ${formatShape(ids.shape)}`);
  }
  const d = ids.data;
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0 || d[i] >= limit) {
      throw new RangeError(`BERT: ${what} has value ${d[i]} at [${Math.floor(i / T)}, ${i % T}], outside [0, ${limit})`);
    }
  }
}

/** Figure 2: E = token embedding + segment embedding + position embedding, then LayerNorm. */
export class BertEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(readonly config: BertConfig) {
    super();
    this.word_embeddings = new Embedding(config.vocabSize, config.hiddenSize);
    this.position_embeddings = new Embedding(config.maxPositionEmbeddings, config.hiddenSize);
    this.token_type_embeddings = new Embedding(config.typeVocabSize, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }

  /** int32 ids [B, T] -> [B, T, D] */
  forward(inputIds: Tensor, tokenTypeIds: Tensor | null = null): Tensor {
    const { vocabSize, maxPositionEmbeddings, typeVocabSize } = this.config;
    if (inputIds.dtype !== "int32" || inputIds.ndim !== 2) {
      throw new RangeError(`BERT: input ids must be int32 [B, T], got ${inputIds.dtype} ${formatShape(inputIds.shape)}`);
    }
    const [B, T] = inputIds.shape;
    if (T > maxPositionEmbeddings) {
      throw new RangeError(`BERT: sequence length ${T} exceeds max_position_embeddings ${maxPositionEmbeddings}`);
    }
    checkIds("input ids", inputIds, B, T, vocabSize);
    const types = tokenTypeIds ?? new Tensor(new Int32Array(B * T), [B, T]);
    checkIds("token type ids", types, B, T, typeVocabSize);
    let e = add(this.wordEmbeddings(inputIds), this.token_type_embeddings.forward(types)); // [B, T, D]
    e = add(e, this.position_embeddings.forward(arange(T))); // + [T, D], broadcast over the batch
    return this.dropout.forward(this.LayerNorm.forward(e));
  }

  /**
   * Word vectors [B, T, D]. As in Hugging Face (nn.Embedding's padding_idx), the [PAD] row gets
   * no gradient: at pad positions the looked-up row is replaced by a constant copy of itself.
   */
  private wordEmbeddings(ids: Tensor): Tensor {
    const words = this.word_embeddings.forward(ids);
    const pad = this.config.padTokenId, D = this.config.hiddenSize;
    if (pad < 0 || !ids.data.includes(pad)) return words;
    const isPad = Float32Array.from(ids.data, (t) => (t === pad ? 1 : 0));
    const keep = new Tensor(isPad.map((p) => 1 - p), [...ids.shape, 1]); // [B, T, 1]
    const padRow = new Tensor(this.word_embeddings.weight.data.slice(pad * D, (pad + 1) * D), [D]); // constant
    return add(mul(words, keep), mul(new Tensor(isPad, [...ids.shape, 1]), padRow));
  }
}

export class BertSelfAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;

  constructor(readonly config: BertConfig) {
    super();
    const D = config.hiddenSize;
    if (D % config.numAttentionHeads !== 0) {
      throw new RangeError(`BERT: hidden size ${D} is not divisible by ${config.numAttentionHeads} heads`);
    }
    this.query = new Linear(D, D);
    this.key = new Linear(D, D);
    this.value = new Linear(D, D);
  }

  /** x [B, T, D], mask int32 [B, 1, 1, T] (nonzero = may attend) -> [B, T, D] */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    // softmax(Q K^T / sqrt(d)) V per head; q, k and v come out of one GEMM side by side
    const qkv = fusedLinear(x, [this.query, this.key, this.value]); // [B, T, D] -> [B, T, 3D]
    return multiHeadAttentionPacked(qkv, this.config.numAttentionHeads, { mask }); // -> [B, T, D]
  }
}

/** Post-norm residual: LayerNorm(x + Dropout(Dense(h))). */
export class BertSelfOutput extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  dropout: Dropout;
  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }
  forward(h: Tensor, input: Tensor): Tensor {
    return this.LayerNorm.forward(add(this.dropout.forward(this.dense.forward(h)), input));
  }
}

export class BertAttention extends Module {
  self: BertSelfAttention;
  output: BertSelfOutput;
  constructor(config: BertConfig) {
    super();
    this.self = new BertSelfAttention(config);
    this.output = new BertSelfOutput(config);
  }
  forward(x: Tensor, mask: Tensor | null): Tensor {
    return this.output.forward(this.self.forward(x, mask), x);
  }
}

export class BertIntermediate extends Module {
  dense: Linear;
  constructor(readonly config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.intermediateSize);
  }
  forward(x: Tensor): Tensor {
    return activate(this.dense.forward(x), this.config.hiddenAct);
  }
}

export class BertOutput extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  dropout: Dropout;
  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.intermediateSize, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }
  forward(h: Tensor, input: Tensor): Tensor {
    return this.LayerNorm.forward(add(this.dropout.forward(this.dense.forward(h)), input));
  }
}

/** One encoder layer (Vaswani et al. §3.1, post-norm): x = LN(x + MHA(x)); x = LN(x + FFN(x)). */
export class BertLayer extends Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertOutput;
  constructor(config: BertConfig) {
    super();
    this.attention = new BertAttention(config);
    this.intermediate = new BertIntermediate(config);
    this.output = new BertOutput(config);
  }
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const a = this.attention.forward(x, mask);
    return this.output.forward(this.intermediate.forward(a), a);
  }
}

export class BertEncoder extends Module {
  layer: ModuleList<BertLayer>;
  constructor(config: BertConfig) {
    super();
    this.layer = new ModuleList(Array.from({ length: config.numHiddenLayers }, () => new BertLayer(config)));
  }
  forward(x: Tensor, mask: Tensor | null): Tensor {
    for (const l of this.layer) x = l.forward(x, mask);
    return x;
  }
}

/** §3: the final hidden state of [CLS], through a dense layer and tanh, represents the sequence. */
export class BertPooler extends Module {
  dense: Linear;
  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
  }
  forward(h: Tensor): Tensor {
    const [B, , D] = h.shape;
    return tanh(this.dense.forward(reshape(narrow(h, 1, 0, 1), [B, D]))); // [B, T, D] -> [B, D]
  }
}

export class BertModel extends Module {
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;

  /** addPoolingLayer: false for the MLM model, which (as in Hugging Face) has no pooler. */
  constructor(readonly config: BertConfig, options: { addPoolingLayer?: boolean } = {}) {
    super();
    this.embeddings = new BertEmbeddings(config);
    this.encoder = new BertEncoder(config);
    this.pooler = options.addPoolingLayer ?? true ? new BertPooler(config) : null;
    initBertWeights(this, config);
  }

  /** int32 ids [B, T] -> lastHiddenState [B, T, D], poolerOutput [B, D] (null without a pooler) */
  forward(inputIds: Tensor, inputs: BertInputs = {}): { lastHiddenState: Tensor; poolerOutput: Tensor | null } {
    const x = this.embeddings.forward(inputIds, inputs.tokenTypeIds ?? null);
    const [B, T] = inputIds.shape;
    let mask: Tensor | null = null;
    if (inputs.attentionMask) {
      checkIds("attention mask", inputs.attentionMask, B, T, 2);
      mask = reshape(inputs.attentionMask, [B, 1, 1, T]); // the same key mask for every head and query
    }
    const h = this.encoder.forward(x, mask);
    return { lastHiddenState: h, poolerOutput: this.pooler ? this.pooler.forward(h) : null };
  }
}

/** Dense + activation + LayerNorm before the tied output projection. */
export class BertPredictionHeadTransform extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  constructor(readonly config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, config.layerNormEps);
  }
  forward(x: Tensor): Tensor {
    return this.LayerNorm.forward(activate(this.dense.forward(x), this.config.hiddenAct));
  }
}

/**
 * The MLM output layer. Its decoder weight is the word-embedding matrix (tied, as in Hugging
 * Face, where `cls.predictions.decoder.weight` is the same tensor as
 * `bert.embeddings.word_embeddings.weight`); only the bias is its own (`cls.predictions.bias`).
 */
export class BertLMPredictionHead extends Module {
  transform: BertPredictionHeadTransform;
  bias: Parameter;
  constructor(config: BertConfig) {
    super();
    this.transform = new BertPredictionHeadTransform(config);
    this.bias = new Parameter(new Float32Array(config.vocabSize), [config.vocabSize]);
  }
  /** [B, T, D] -> logits [B, T, V] */
  forward(h: Tensor, wordEmbeddings: Tensor): Tensor {
    return add(matmulT(this.transform.forward(h), wordEmbeddings, false, true), this.bias);
  }
}

export class BertOnlyMLMHead extends Module {
  predictions: BertLMPredictionHead;
  constructor(config: BertConfig) {
    super();
    this.predictions = new BertLMPredictionHead(config);
  }
}

/** §3.1 Task #1: predict the original token at masked positions from both directions. */
export class BertForMaskedLM extends Module {
  bert: BertModel;
  cls: BertOnlyMLMHead;

  constructor(readonly config: BertConfig) {
    super();
    this.bert = new BertModel(config, { addPoolingLayer: false });
    this.cls = new BertOnlyMLMHead(config);
    initBertWeights(this.cls, config);
  }

  /** int32 ids [B, T] -> logits [B, T, V] */
  forward(inputIds: Tensor, inputs: BertInputs = {}): { logits: Tensor } {
    const h = this.bert.forward(inputIds, inputs).lastHiddenState;
    return { logits: this.cls.predictions.forward(h, this.bert.embeddings.word_embeddings.weight) };
  }
}

/** §3.2 / §4.1: a linear classifier on the pooled [CLS] representation. */
export class BertForSequenceClassification extends Module {
  bert: BertModel;
  dropout: Dropout;
  classifier: Linear;

  constructor(readonly config: BertConfig) {
    super();
    this.bert = new BertModel(config);
    this.dropout = new Dropout(config.hiddenDropoutProb);
    this.classifier = new Linear(config.hiddenSize, config.numLabels);
    initBertWeights(this.classifier, config);
  }

  /** int32 ids [B, T] -> logits [B, numLabels] */
  forward(inputIds: Tensor, inputs: BertInputs = {}): { logits: Tensor } {
    const pooled = this.bert.forward(inputIds, inputs).poolerOutput!;
    return { logits: this.classifier.forward(this.dropout.forward(pooled)) };
  }
}

/**
 * Hugging Face's BertPreTrainedModel._init_weights: normal(0, initializer_range) for linear
 * and embedding weights, zero biases (and the padding row), LayerNorm at identity.
 */
function initBertWeights(root: Module, config: BertConfig): void {
  const std = config.initializerRange;
  for (const m of root.modules()) {
    if (m instanceof Linear) {
      normal_(m.weight, 0, std);
      if (m.bias) zeros_(m.bias);
    } else if (m instanceof Embedding) {
      normal_(m.weight, 0, std);
      if (m === (root as BertModel).embeddings?.word_embeddings && config.padTokenId >= 0 && config.padTokenId < config.vocabSize) {
        const D = m.embeddingDim;
        m.weight.data.fill(0, config.padTokenId * D, (config.padTokenId + 1) * D);
      }
    }
  }
}
