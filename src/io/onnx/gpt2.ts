// GPT-2 as an ONNX graph: input_ids [batch, sequence] int64 -> last_hidden_state (GPT2Model)
// or logits [batch, sequence, vocab] (GPT2LMHeadModel, the output projection tied to wte).

import { GPT2LMHeadModel, type GPT2Model } from "../../models/gpt.js";
import { OnnxGraph, floatConst } from "./graph.js";
import { attention, conv1d, gelu, ints, layerNorm, scalar } from "./blocks.js";

export function gpt2ToOnnx(model: GPT2Model | GPT2LMHeadModel): OnnxGraph {
  const lm = model instanceof GPT2LMHeadModel ? model : null;
  const t = lm ? lm.transformer : (model as GPT2Model);
  const pre = lm ? "transformer." : "";
  const c = t.config, C = c.nEmbd;
  const g = new OnnxGraph(lm ? "GPT2LMHeadModel" : "GPT2Model");
  const ids = g.input("input_ids", "int64", ["batch", "sequence"]);

  // token embeddings + the first T rows of the position table
  const seq = g.node("Shape", [ids], { start: 1, end: 2 }); // [T]
  const wte = g.weight(`${pre}wte.weight`, t.wte.weight);
  const pos = g.node("Slice", [g.weight(`${pre}wpe.weight`, t.wpe.weight), ints(g, [0], "zero"), seq, ints(g, [0], "axis")]); // [T, C]
  let h = g.node("Add", [g.node("Gather", [wte, ids], { axis: 0 }), pos]); // [B, T, C]

  // causal mask as an additive bias: 0 on and below the diagonal, -1e9 above -> [T, T]
  const ones = g.node("ConstantOfShape", [g.node("Concat", [seq, seq], { axis: 0 })], { value: { tensor: floatConst([1], [1]) } });
  const causal = g.node("Mul", [g.node("Sub", [g.node("Trilu", [ones], { upper: 0 }), scalar(g, 1)]), scalar(g, 1e9)]);

  [...t.h].forEach((b, i) => {
    const L = `${pre}h.${i}.`;
    const [q, k, v] = g.nodeN("Split", [conv1d(g, layerNorm(g, h, b.ln_1, `${L}ln_1`), b.attn.c_attn, `${L}attn.c_attn`), ints(g, [C, C, C], "split")], 3, { axis: 2 });
    h = g.node("Add", [h, conv1d(g, attention(g, q, k, v, c.nHead, C, causal), b.attn.c_proj, `${L}attn.c_proj`)]);
    const m = gelu(g, conv1d(g, layerNorm(g, h, b.ln_2, `${L}ln_2`), b.mlp.c_fc, `${L}mlp.c_fc`), "tanh");
    h = g.node("Add", [h, conv1d(g, m, b.mlp.c_proj, `${L}mlp.c_proj`)]);
  });
  h = layerNorm(g, h, t.ln_f, `${pre}ln_f`);
  if (!lm) {
    g.output(h, "float", ["batch", "sequence", C], "last_hidden_state");
    return g;
  }
  // logits = h wte^T as one Gemm over [B*T, C] that reads wte transposed in place (no second copy)
  const flat = g.node("Reshape", [h, ints(g, [-1, C])]);
  const logits = g.node("Gemm", [flat, wte], { transB: 1 });
  const shape = g.node("Concat", [g.node("Shape", [ids]), ints(g, [c.vocabSize], "vocab")], { axis: 0 });
  g.output(g.node("Reshape", [logits, shape]), "float", ["batch", "sequence", c.vocabSize], "logits");
  return g;
}
