// BERT as an ONNX graph: input_ids, attention_mask, token_type_ids [batch, sequence] int64 ->
// last_hidden_state and pooler_output (BertModel) or logits (BertForMaskedLM [B, T, vocab],
// BertForSequenceClassification [B, labels]); post-norm layers as in src/models/bert.ts.

import { BertForMaskedLM, BertForSequenceClassification, BertModel, type BertActivation } from "../../models/bert.js";
import { OnnxGraph } from "./graph.js";
import { attention, gelu, ints, layerNorm, linear, scalar } from "./blocks.js";
import { registerOnnxExporter } from "./export.js";

function act(g: OnnxGraph, x: string, a: BertActivation): string {
  return a === "relu" ? g.node("Relu", [x]) : gelu(g, x, a === "gelu_new" ? "tanh" : "none");
}

export function bertToOnnx(model: BertModel | BertForMaskedLM | BertForSequenceClassification): OnnxGraph {
  const bert = model instanceof BertModel ? model : model.bert;
  const pre = model instanceof BertModel ? "" : "bert.";
  const c = bert.config, D = c.hiddenSize;
  const g = new OnnxGraph(model.constructor.name);
  const ids = g.input("input_ids", "int64", ["batch", "sequence"]);
  const mask = g.input("attention_mask", "int64", ["batch", "sequence"]);
  const types = g.input("token_type_ids", "int64", ["batch", "sequence"]);

  // Figure 2: token + segment + position embeddings, then LayerNorm
  const e = bert.embeddings;
  const seq = g.node("Shape", [ids], { start: 1, end: 2 });
  const word = g.weight(`${pre}embeddings.word_embeddings.weight`, e.word_embeddings.weight);
  const pos = g.node("Slice", [g.weight(`${pre}embeddings.position_embeddings.weight`, e.position_embeddings.weight), ints(g, [0], "zero"), seq, ints(g, [0], "axis")]);
  let h = g.node("Add", [g.node("Gather", [word, ids], { axis: 0 }), g.node("Gather", [g.weight(`${pre}embeddings.token_type_embeddings.weight`, e.token_type_embeddings.weight), types], { axis: 0 })]);
  h = layerNorm(g, g.node("Add", [h, pos]), e.LayerNorm, `${pre}embeddings.LayerNorm`); // [B, T, D]

  // padding keys get the most negative float added to their scores (transformers' extended mask): [B, 1, 1, T]
  const keep = g.node("Cast", [mask], { to: 1 });
  const bias = g.node("Unsqueeze", [g.node("Mul", [g.node("Sub", [scalar(g, 1), keep]), scalar(g, -3.4028234663852886e38)]), ints(g, [1, 2], "axes")]);

  [...bert.encoder.layer].forEach((l, i) => {
    const L = `${pre}encoder.layer.${i}.`, s = l.attention.self;
    const ctx = attention(g, linear(g, h, s.query, `${L}attention.self.query`), linear(g, h, s.key, `${L}attention.self.key`), linear(g, h, s.value, `${L}attention.self.value`), c.numAttentionHeads, D, bias);
    const a = layerNorm(g, g.node("Add", [linear(g, ctx, l.attention.output.dense, `${L}attention.output.dense`), h]), l.attention.output.LayerNorm, `${L}attention.output.LayerNorm`);
    const m = act(g, linear(g, a, l.intermediate.dense, `${L}intermediate.dense`), c.hiddenAct);
    h = layerNorm(g, g.node("Add", [linear(g, m, l.output.dense, `${L}output.dense`), a]), l.output.LayerNorm, `${L}output.LayerNorm`);
  });

  const pooled = () => {
    const first = g.node("Gather", [h, g.initializer("zero_index", { dtype: "int64", dims: [], data: new Uint8Array(8) })], { axis: 1 }); // [B, D]
    return g.node("Tanh", [linear(g, first, bert.pooler!.dense, `${pre}pooler.dense`)]);
  };
  if (model instanceof BertModel) {
    g.output(h, "float", ["batch", "sequence", D], "last_hidden_state");
    if (bert.pooler) g.output(pooled(), "float", ["batch", D], "pooler_output");
  } else if (model instanceof BertForMaskedLM) {
    const p = model.cls.predictions, t = p.transform;
    const x = layerNorm(g, act(g, linear(g, h, t.dense, "cls.predictions.transform.dense"), c.hiddenAct), t.LayerNorm, "cls.predictions.transform.LayerNorm");
    // logits = x W_word^T + b as one Gemm over [B*T, D], reading the tied word embeddings in place
    const logits = g.node("Gemm", [g.node("Reshape", [x, ints(g, [-1, D])]), word, g.weight("cls.predictions.bias", p.bias)], { transB: 1 });
    const shape = g.node("Concat", [g.node("Shape", [ids]), ints(g, [c.vocabSize], "vocab")], { axis: 0 });
    g.output(g.node("Reshape", [logits, shape]), "float", ["batch", "sequence", c.vocabSize], "logits");
  } else {
    g.output(linear(g, pooled(), model.classifier, "classifier"), "float", ["batch", c.numLabels], "logits");
  }
  return g;
}

registerOnnxExporter(BertModel, bertToOnnx);
registerOnnxExporter(BertForMaskedLM, bertToOnnx);
registerOnnxExporter(BertForSequenceClassification, bertToOnnx);
