// BERT against PyTorch (scripts/fixtures/text_models.py writes Hugging Face's modeling_bert
// computation): weights load by Hugging Face's names (strict), outputs and parameter gradients
// agree within 1e-4 on both backends; parameter counts of the presets; bad input.

import assert from "node:assert/strict";
import { test } from "node:test";
import { availableBackends, models, tensor, withBackend, type Tensor } from "../src/index.js";
import { assertClose, assertCloseScaled, fromFixture, stateFromFixture, textFixture, type ModelCase } from "./helpers/text-fixtures.js";

const cases = textFixture().bert;

function inputsOf(c: ModelCase): { ids: Tensor; attentionMask: Tensor; tokenTypeIds: Tensor } {
  return { ids: fromFixture(c.inputs.inputIds), attentionMask: fromFixture(c.inputs.attentionMask), tokenTypeIds: fromFixture(c.inputs.tokenTypeIds) };
}

function checkGrads(m: models.BertModel | models.BertForMaskedLM | models.BertForSequenceClassification, c: ModelCase, label: string): void {
  const named = Object.fromEntries(m.namedParameters());
  for (const [name, g] of Object.entries(c.paramGrads)) {
    assert.ok(named[name], `${label}: no parameter named ${name}`);
    assertCloseScaled(named[name].grad, g, `${label}: grad of ${name}`);
  }
}

for (const backend of availableBackends()) {
  test(`[${backend}] BertModel equals PyTorch: last hidden state, pooler output, gradients`, () => withBackend(backend, () => {
    const c = cases.find((x) => x.kind === "BertModel")!;
    const m = new models.BertModel(c.config as models.BertConfig);
    m.loadStateDict(stateFromFixture(c.params));
    m.eval();
    const { ids, attentionMask, tokenTypeIds } = inputsOf(c);
    const out = m.forward(ids, { attentionMask, tokenTypeIds });
    assertClose(out.lastHiddenState, c.lastHiddenState as any, "lastHiddenState");
    assertClose(out.poolerOutput, c.poolerOutput as any, "poolerOutput");
    out.lastHiddenState.mul(fromFixture(c.gradHidden as any)).sum().add(out.poolerOutput!.mul(fromFixture(c.gradPooler as any)).sum()).backward();
    checkGrads(m, c, "BertModel");
  }));

  for (const kind of ["BertForMaskedLM", "BertForSequenceClassification"] as const) {
    test(`[${backend}] ${kind} equals PyTorch: logits and gradients`, () => withBackend(backend, () => {
      const c = cases.find((x) => x.kind === kind)!;
      const m = new models[kind](c.config as models.BertConfig);
      m.loadStateDict(stateFromFixture(c.params)); // strict: every Hugging Face name present, none extra
      m.eval();
      const { ids, attentionMask, tokenTypeIds } = inputsOf(c);
      const { logits } = m.forward(ids, { attentionMask, tokenTypeIds });
      assertClose(logits, c.output!, `${kind} logits`);
      logits.mul(fromFixture(c.gradOutput!)).sum().backward();
      checkGrads(m, c, kind);
    }));
  }
}

test("padding does not change the hidden states of the real tokens", () => {
  const c = cases.find((x) => x.kind === "BertModel")!;
  const m = new models.BertModel(c.config as models.BertConfig).eval();
  const ids = tensor([[5, 6, 7, 8]], [1, 4], { dtype: "int32" });
  const padded = tensor([[5, 6, 7, 8, 0, 0]], [1, 6], { dtype: "int32" });
  const mask = tensor([[1, 1, 1, 1, 0, 0]], [1, 6], { dtype: "int32" });
  const a = m.forward(ids).lastHiddenState;
  const b = m.forward(padded, { attentionMask: mask }).lastHiddenState.narrow(1, 0, 4);
  for (let i = 0; i < a.numel; i++) assert.ok(Math.abs(a.data[i] - b.data[i]) < 1e-5, `index ${i}: ${a.data[i]} vs ${b.data[i]}`);
});

test("BERT presets have Hugging Face's parameter counts", () => {
  // bert-base-uncased: BertForMaskedLM 109,514,298; BertModel 109,482,240 = the MLM model's
  // encoder (no pooler) + a 768 x 768 pooler. One bert-base model only: initialising 110M
  // weights is the slow part.
  const cfg = models.bertPresets["bert-base"];
  const mlm = new models.BertForMaskedLM(cfg);
  assert.equal(mlm.numParameters(), 109_514_298);
  assert.equal(mlm.bert.numParameters() + new models.BertPooler(cfg).numParameters(), 109_482_240);
  // google/bert_uncased_L-2_H-128_A-2 ("BERT-Tiny"): 4,385,920; two labels add 128 * 2 + 2
  const tiny = new models.BertForSequenceClassification(models.bertPresets["bert-tiny"]);
  assert.equal(tiny.bert.numParameters(), 4_385_920);
  assert.equal(tiny.numParameters(), 4_385_920 + 258);
});

test("Hugging Face's names for the MLM and classification heads", () => {
  const cfg = models.bertConfig("bert-tiny", { vocabSize: 100, numHiddenLayers: 1 });
  const mlm = new Set(new models.BertForMaskedLM(cfg).namedParameters().map(([n]) => n));
  for (const n of ["bert.embeddings.word_embeddings.weight", "bert.embeddings.token_type_embeddings.weight",
    "bert.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.0.attention.output.LayerNorm.weight",
    "bert.encoder.layer.0.intermediate.dense.weight", "bert.encoder.layer.0.output.LayerNorm.bias",
    "cls.predictions.transform.dense.weight", "cls.predictions.transform.LayerNorm.weight", "cls.predictions.bias"]) {
    assert.ok(mlm.has(n), n);
  }
  assert.ok(![...mlm].some((n) => n.startsWith("bert.pooler")), "the MLM model has no pooler");
  const cls = new Set(new models.BertForSequenceClassification(cfg).namedParameters().map(([n]) => n));
  for (const n of ["bert.pooler.dense.weight", "classifier.weight", "classifier.bias"]) assert.ok(cls.has(n), n);
  assert.throws(() => models.bertConfig("bert-huge"), /unknown preset "bert-huge"/);
});

test("BERT refuses unknown token ids, long sequences and bad masks, naming them", () => {
  const cfg = models.bertConfig("bert-tiny", { vocabSize: 10, maxPositionEmbeddings: 8, numHiddenLayers: 1 });
  const m = new models.BertForMaskedLM(cfg);
  const ids = (rows: number[][]): Tensor => tensor(rows, [rows.length, rows[0].length], { dtype: "int32" });
  assert.throws(() => m.forward(ids([[1, 2, 10]])), /input ids has value 10 at \[0, 2\], outside \[0, 10\)/);
  assert.throws(() => m.forward(ids([[1, -1, 3]])), /input ids has value -1 at \[0, 1\]/);
  assert.throws(() => m.forward(ids([[1, 2, 3, 4, 5, 6, 7, 8, 9]])), /sequence length 9 exceeds max_position_embeddings 8/);
  assert.throws(() => m.forward(ids([[1, 2, 3]]), { tokenTypeIds: ids([[0, 2, 0]]) }), /token type ids has value 2/);
  assert.throws(() => m.forward(ids([[1, 2, 3]]), { attentionMask: ids([[1, 1]]) }), /attention mask must be int32 \[1, 3\]/);
  assert.throws(() => m.forward(tensor([[1, 2]], [1, 2])), /input ids must be int32 \[B, T\], got float32/);
  assert.deepEqual(m.forward(ids([[1, 2, 3]])).logits.shape, [1, 3, 10]);
});
