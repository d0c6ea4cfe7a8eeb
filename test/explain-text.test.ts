// Self-attention of GPT-2 and BERT checkpoints (the formats `train gpt` and `train bert --out`
// write) in `tsformer attention` and the explorer's text API: a tiny GPT trained here for a
// second on a repeating alphabet (so its next-token answer is known), a tiny BERT saved from a
// fixed-seed random init (its answers are checked against the model run directly). The matrices
// must be the recorded weights, causal for GPT, over [CLS] ... [SEP] for BERT.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { data, manualSeed, models, tasks } from "../src/index.js";
import { main } from "../src/cli/main.js";
import { startServer } from "../src/cli/serve.js";
import { loadExplainable } from "../src/cli/explain-model.js";
import { explainSelfAttention } from "../src/cli/explain-text.js";
import { recordAttention } from "../src/explain/index.js";
import { saveCheckpoint } from "../src/io/checkpoint.js";
import { noGrad, Tensor } from "../src/tensor/tensor.js";

const root = mkdtempSync(join(tmpdir(), "tsformer-explain-text-"));
const gptDir = join(root, "gpt"), bertDir = join(root, "bert");
let gptBits = Infinity;

before(() => {
  const r = tasks.trainLM({ text: "abcdefgh".repeat(60), preset: "gpt-tiny", config: { nPositions: 16, nEmbd: 32, nHead: 2, nLayer: 2, embdPdrop: 0, attnPdrop: 0, residPdrop: 0 }, steps: 40, batchSize: 8, lr: 1e-2 });
  gptBits = r.validation.bitsPerChar;
  tasks.saveLM(gptDir, r);
  const sentences = ["the whale swims in the sea", "the ship sails on the sea", "the captain sees the whale", "a storm hits the ship"];
  const tok = data.tokenizers.WordPiece.train(sentences, { vocabSize: 80 });
  manualSeed(7);
  const config = models.bertConfig("bert-tiny", { vocabSize: tok.vocabSize, hiddenSize: 16, numAttentionHeads: 2, intermediateSize: 32, numHiddenLayers: 2, maxPositionEmbeddings: 12 });
  // what `tsformer train bert --out DIR` writes
  saveCheckpoint(bertDir, { config: { kind: "bert-mlm", config, tokenizer: tok.toJSON() }, stateDict: new models.BertForMaskedLM(config).stateDict(), meta: null });
});
after(() => rmSync(root, { recursive: true, force: true }));

test("GPT-2: the next token, and causal matrices that are the recorded weights", () => {
  assert.ok(gptBits < 0.5, `the tiny GPT did not learn the alphabet (${gptBits} bits/char)`);
  const m = loadExplainable(gptDir);
  assert.ok(m.kind === "text" && m.task === "gpt2");
  if (m.kind !== "text" || m.task !== "gpt2") return;
  const e = explainSelfAttention(m, "abcde");
  assert.deepEqual(e.tokens, ["a", "b", "c", "d", "e"]);
  assert.deepEqual(e.output, ["f"]);
  assert.equal(e.top[0].token, "f");
  assert.equal(e.layers.length, 2);
  const x = new Tensor(Int32Array.from(m.tokenizer.encode("abcde")), [1, 5]);
  const { attentions } = noGrad(() => recordAttention(m.model, () => m.model.forward(x)));
  for (const [l, layer] of e.layers.entries()) {
    assert.equal(layer.role, "decoder");
    assert.equal(layer.heads.length, 2);
    layer.heads.forEach((rows, h) => rows.forEach((row, i) => {
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      row.forEach((w, j) => {
        assert.ok(Math.abs(w - attentions[l].weights.data[(h * 5 + i) * 5 + j]) < 1e-6);
        if (j > i) assert.equal(w, 0, `layer ${l} head ${h}: token ${i} sees the later token ${j}`);
      });
    }));
  }
  // one SVG per layer for the head mean and one per head
  assert.deepEqual(e.pictures.map((p) => p.name), ["attn0-mean.svg", "attn0-head0.svg", "attn0-head1.svg", "attn1-mean.svg", "attn1-head0.svg", "attn1-head1.svg"]);
  assert.throws(() => explainSelfAttention(m, "abcdefgh".repeat(3)), /24 tokens, more than the model's 16 positions/);
});

test("BERT: [MASK] filled in as the model does, matrices over [CLS] ... [SEP]", () => {
  const m = loadExplainable(bertDir);
  assert.ok(m.kind === "text" && m.task === "bert-mlm");
  if (m.kind !== "text" || m.task !== "bert-mlm") return;
  const e = explainSelfAttention(m, "the [MASK] sails");
  const ids = m.tokenizer.encode("the [MASK] sails");
  assert.deepEqual(e.tokens, ids.map((id) => m.tokenizer.idToToken(id)));
  assert.deepEqual([e.tokens[0], e.tokens[1], e.tokens[2], e.tokens.at(-1)], ["[CLS]", "the", "[MASK]", "[SEP]"]);
  const logits = noGrad(() => m.model.forward(new Tensor(Int32Array.from(ids), [1, ids.length])).logits);
  const V = logits.shape[2];
  const row = Array.from(logits.data.subarray(2 * V, 3 * V));
  assert.deepEqual(e.output, [m.tokenizer.idToToken(row.indexOf(Math.max(...row)))]);
  assert.equal(e.layers.length, 2);
  assert.equal(e.layers[0].role, "encoder");
  // not causal: some token attends to a later one
  assert.ok(e.layers[0].heads[0][0].slice(1).some((w) => w > 0));
  assert.equal(explainSelfAttention(m, "the whale").output.length, 0); // nothing to fill in
});

test("tsformer attention on GPT-2 and BERT writes matrices as SVG and PNG", async () => {
  for (const [dir, input, expect] of [[gptDir, "abcde", "f"], [bertDir, "the [MASK] sails", null]] as const) {
    const out = join(dir, "attention");
    const logs: string[] = [];
    const log = console.log;
    console.log = (s: string) => logs.push(String(s));
    try {
      assert.equal(await main(["attention", "--model", dir, input, "--out", out, "--json"]), 0);
    } finally {
      console.log = log;
    }
    const s = JSON.parse(logs.at(-1)!) as { output: string[]; tokens: string[]; files: string[] };
    if (expect) assert.deepEqual(s.output, [expect]);
    const names = s.files.map((f) => f.slice(out.length + 1));
    for (const n of ["attn0-mean.svg", "attn0-mean.png", "attn1-head1.svg", "index.html"]) assert.ok(names.includes(n), `${n} in ${names}`);
    const png = await sharp(readFileSync(join(out, "attn0-mean.png"))).metadata();
    assert.equal(png.format, "png");
    assert.ok(png.width! > 50 && png.height! > 50);
    assert.match(readFileSync(join(out, "index.html"), "utf8"), /Self-attention per layer/);
  }
});

function http(url: string, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, method, headers: { "content-type": "application/json" }, timeout: 20_000 }, (res) => {
      let s = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (s += c));
      res.on("end", () => resolve({ status: res.statusCode!, body: s }));
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

test("the explorer's text API explains GPT-2 and BERT and answers bad texts clearly", async (t) => {
  const s = await startServer({ model: gptDir, port: 0 });
  t.after(() => s.close());
  const info = JSON.parse((await http(s.url, "GET", "/api/model")).body) as { kind: string; task: string; layers: number; heads: number };
  assert.deepEqual([info.kind, info.task, info.layers, info.heads], ["text", "gpt2", 2, 2]);
  const res = await http(s.url, "POST", "/api/explain/text", JSON.stringify({ text: "abcde" }));
  assert.equal(res.status, 200, res.body);
  const j = JSON.parse(res.body) as { output: string[]; tokens: string[]; layers: { queries: string[]; keys: string[]; heads: number[][][] }[] };
  assert.deepEqual(j.output, ["f"]);
  assert.deepEqual(j.layers[1].keys, ["a", "b", "c", "d", "e"]);
  assert.equal(j.layers[1].heads[0].length, 5);
  const long = await http(s.url, "POST", "/api/explain/text", JSON.stringify({ text: "abcdefgh".repeat(3) }));
  assert.equal(long.status, 400);
  assert.match(JSON.parse(long.body).error, /more than the model's 16 positions/);
  assert.equal((await http(s.url, "POST", "/api/explain/image", "x")).status, 400);
  const b = await startServer({ model: bertDir, port: 0 });
  t.after(() => b.close());
  const br = JSON.parse((await http(b.url, "POST", "/api/explain/text", JSON.stringify({ text: "the [MASK] sails" }))).body) as { tokens: string[]; layers: unknown[] };
  assert.deepEqual([br.tokens[0], br.tokens.at(-1), br.layers.length], ["[CLS]", "[SEP]", 2]);
});
