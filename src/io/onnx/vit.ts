// ViT as an ONNX graph: pixel_values [batch, C, H, W] -> last_hidden_state [batch, N+1, D]
// (ViTModel) or logits [batch, classes] (ViTForImageClassification); the same computation as
// src/models/vit.ts (eq. 1-4 of the paper).

import { ViTForImageClassification, ViTPatchEmbeddings, type ViTModel } from "../../models/vit.js";
import { OnnxGraph } from "./graph.js";
import { attention, gelu, ints, layerNorm, linear } from "./blocks.js";

export function vitToOnnx(model: ViTModel | ViTForImageClassification): OnnxGraph {
  const head = model instanceof ViTForImageClassification ? model : null;
  const vit = head ? head.vit : (model as ViTModel);
  const pre = head ? "vit." : "";
  const c = vit.config, D = c.hiddenSize, P = c.patchSize;
  const g = new OnnxGraph(head ? "ViTForImageClassification" : "ViTModel");
  const pixels = g.input("pixel_values", "float", ["batch", c.numChannels, c.imageSize, c.imageSize]);

  // eq. 1: patches through the stride-P convolution, flattened to [B, N, D]
  const e = vit.embeddings;
  if (!(e.patch_embeddings instanceof ViTPatchEmbeddings)) {
    throw new Error(`ONNX export: this ViT embeds patches with ${(e.patch_embeddings as object).constructor.name}; only the linear patch projection is exported`);
  }
  const pe = e.patch_embeddings.projection;
  const conv = g.node("Conv", [pixels, g.weight(`${pre}embeddings.patch_embeddings.projection.weight`, pe.weight), g.weight(`${pre}embeddings.patch_embeddings.projection.bias`, pe.bias!)],
    { kernel_shape: [P, P], strides: [P, P] }); // [B, D, H/P, W/P]
  const patches = g.node("Transpose", [g.node("Reshape", [conv, ints(g, [0, D, -1])])], { perm: [0, 2, 1] }); // [B, N, D]
  // [CLS] repeated over the batch: Expand to [B, 1, D] with B read from the input's shape
  const batch = g.node("Shape", [pixels], { start: 0, end: 1 });
  const cls = g.node("Expand", [g.weight(`${pre}embeddings.cls_token`, e.cls_token), g.node("Concat", [batch, ints(g, [1, D])], { axis: 0 })]);
  let h = g.node("Add", [g.node("Concat", [cls, patches], { axis: 1 }), g.weight(`${pre}embeddings.position_embeddings`, e.position_embeddings)]); // [B, N+1, D]

  // eq. 2-3: pre-norm blocks
  [...vit.encoder.layer].forEach((l, i) => {
    const L = `${pre}encoder.layer.${i}.`;
    const a = layerNorm(g, h, l.layernorm_before, `${L}layernorm_before`);
    const sa = l.attention.attention;
    const ctx = attention(g, linear(g, a, sa.query, `${L}attention.attention.query`), linear(g, a, sa.key, `${L}attention.attention.key`),
      linear(g, a, sa.value, `${L}attention.attention.value`), c.numAttentionHeads, D);
    h = g.node("Add", [linear(g, ctx, l.attention.output.dense, `${L}attention.output.dense`), h]);
    const m = gelu(g, linear(g, layerNorm(g, h, l.layernorm_after, `${L}layernorm_after`), l.intermediate.dense, `${L}intermediate.dense`), "none");
    h = g.node("Add", [linear(g, m, l.output.dense, `${L}output.dense`), h]);
  });
  h = layerNorm(g, h, vit.layernorm, `${pre}layernorm`);
  if (!head) {
    g.output(h, "float", ["batch", e.patch_embeddings.numPatches + 1, D], "last_hidden_state");
    return g;
  }
  // eq. 4: classify from the [CLS] state
  const first = g.node("Gather", [h, g.initializer("zero", { dtype: "int64", dims: [], data: new Uint8Array(8) })], { axis: 1 }); // [B, D]
  g.output(linear(g, first, head.classifier, "classifier"), "float", ["batch", c.numLabels], "logits");
  return g;
}
