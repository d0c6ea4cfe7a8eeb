// Self-attention of the text models of `tsformer train gpt` (GPT-2, decoder only, causal) and
// `tsformer train bert` (BERT, encoder only, masked LM) on one text, per layer and head, with the
// tokens their own tokenizers make. GPT-2: what comes next (top 5 next tokens), and each layer's
// causal matrix (each token attends to itself and the tokens before it). BERT: the text with its
// [MASK] tokens filled in (a text without [MASK] is encoded as is), and each layer's matrix over
// [CLS] ... [SEP]. Both checkpoints keep the tokenizer inside config.json.

import { join } from "node:path";
import { tokenizerFromJSON } from "../data/tokenizers/index.js";
import type { Tokenizer } from "../data/tokenizers/tokenizer.js";
import { recordAttention, textAttentionPictures, type Picture } from "../explain/index.js";
import { loadCheckpoint } from "../io/checkpoint.js";
import { BertForMaskedLM, type BertConfig } from "../models/bert.js";
import { GPT2LMHeadModel, type GPT2Config } from "../models/gpt.js";
import { softmax } from "../ops/functional.js";
import { loadLM } from "../tasks/lm.js";
import { noGrad, Tensor } from "../tensor/tensor.js";

export type TransformerTextModel =
  | { kind: "text"; task: "gpt2"; dir: string; model: GPT2LMHeadModel; tokenizer: Tokenizer; maxTokens: number; layers: number; heads: number }
  | { kind: "text"; task: "bert-mlm"; dir: string; model: BertForMaskedLM; tokenizer: Tokenizer; maxTokens: number; layers: number; heads: number };

/** Load a `train gpt` (kind "gpt2") or `train bert --out` (kind "bert-mlm") checkpoint. */
export function loadTextExplainable(dir: string, kind: string): TransformerTextModel {
  if (kind === "gpt2") {
    const { model, tokenizer, config } = loadLM(dir);
    return { kind: "text", task: "gpt2", dir, model, tokenizer, maxTokens: config.nPositions, layers: config.nLayer, heads: config.nHead };
  }
  const ck = loadCheckpoint<{ kind?: string; config?: BertConfig; tokenizer?: unknown }>(dir);
  const where = join(dir, "config.json");
  if (!ck.config.config || !ck.config.tokenizer) throw new Error(`--model ${dir}: ${where} of kind "bert-mlm" needs its config and tokenizer`);
  const tokenizer = tokenizerFromJSON(ck.config.tokenizer, where);
  const model = new BertForMaskedLM(ck.config.config);
  model.loadStateDict(ck.stateDict);
  model.eval();
  if (tokenizer.vocabSize > ck.config.config.vocabSize) throw new Error(`--model ${dir}: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${ck.config.config.vocabSize}`);
  const c = ck.config.config;
  return { kind: "text", task: "bert-mlm", dir, model, tokenizer, maxTokens: c.maxPositionEmbeddings, layers: c.numHiddenLayers, heads: c.numAttentionHeads };
}

export interface SelfAttentionExplanation {
  input: string;
  /** GPT-2: the most likely next token; BERT: the tokens chosen for each [MASK] (or none). */
  output: string[];
  /** GPT-2: the top 5 next tokens; BERT: the top 5 for the first [MASK]. */
  top: { token: string; p: number }[];
  tokens: string[];
  /** One per layer: weights [H][T][T] with the tokens as queries and keys (the explorer's head view). */
  layers: { module: string; role: "decoder" | "encoder"; heads: number[][][]; queries: string[]; keys: string[] }[];
  pictures: Picture[];
}

const label = (tok: Tokenizer, id: number) => tok.idToToken(id) ?? tok.decode([id], { skipSpecialTokens: false });

/** Record every layer's self-attention on the text and draw it token by token. */
export function explainSelfAttention(m: TransformerTextModel, text: string): SelfAttentionExplanation {
  const ids = m.tokenizer.encode(text);
  if (ids.length === 0) throw new Error(`the text "${text}" makes no tokens`);
  if (ids.length > m.maxTokens) throw new Error(`the text makes ${ids.length} tokens, more than the model's ${m.maxTokens} positions`);
  const x = new Tensor(Int32Array.from(ids), [1, ids.length]);
  const tokens = ids.map((id) => label(m.tokenizer, id));
  const { output: logits, attentions } = noGrad(() => recordAttention(m.model, () => m.model.forward(x).logits)); // [1, T, V]
  const V = logits.shape[2], T = ids.length;
  const topOf = (row: number) => {
    const p = noGrad(() => softmax(new Tensor(logits.data.slice(row * V, (row + 1) * V), [V]), -1)).data;
    return Array.from(p.keys()).sort((a, b) => p[b] - p[a]).slice(0, 5).map((k) => ({ token: label(m.tokenizer, k), p: p[k] }));
  };
  let output: string[], top: { token: string; p: number }[];
  if (m.task === "gpt2") {
    top = topOf(T - 1); // the last position predicts the next token
    output = [top[0].token];
  } else {
    const mask = m.tokenizer.specials.mask;
    const masked = ids.flatMap((id, i) => (id === mask ? [i] : []));
    output = masked.map((i) => topOf(i)[0].token);
    top = masked.length ? topOf(masked[0]) : [];
  }
  const role = m.task === "gpt2" ? "decoder" as const : "encoder" as const;
  const layers = attentions.map((r) => {
    const [B, H, Tq, Tk] = r.weights.shape;
    if (B !== 1 || Tq !== T || Tk !== T) throw new Error(`explain text: attention ${r.module} is ${Tq}x${Tk}, expected ${T}x${T} self-attention`);
    const heads = Array.from({ length: H }, (_, h) => Array.from({ length: T }, (_, i) => Array.from(r.weights.data.subarray((h * T + i) * T, (h * T + i + 1) * T))));
    return { module: r.module, role, heads, queries: tokens, keys: tokens };
  });
  const pictures = textAttentionPictures(attentions, () => ({ queries: tokens, keys: tokens }));
  return { input: text, output, top, tokens, layers, pictures };
}
