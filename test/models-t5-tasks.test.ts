// Text-to-text with task prefixes: the vocabulary's round trip, the examples of each task,
// and a small T5 that learns a prefixed task end to end (training, cached greedy decoding).

import assert from "node:assert/strict";
import { test } from "node:test";
import { manualSeed, models, optim, tasks, Tensor, F } from "../src/index.js";

test("text-to-text vocabulary: prefixes and phonemes are tokens, words are letters, decode inverts encode", () => {
  const v = new tasks.TextToTextVocab();
  for (const s of ["g2p: hello", "reverse: it's", "HH AH L OW", "olleh", "K AE T"]) assert.equal(v.decode(v.encode(s)), s);
  const ids = v.encode("g2p: ab");
  assert.deepEqual(ids.map((i) => v.tokens[i]), ["g2p:", "a", "b", "</s>"]);
  assert.equal(v.encode("é")[0], v.unk);
  assert.throws(() => v.decode([999]), /id 999 is outside the vocabulary/);
  assert.deepEqual(tasks.taskExample("g2p", { word: "cat", phonemes: ["K", "AE", "T"] }), { task: "g2p", input: "g2p: cat", target: "K AE T" });
  assert.deepEqual(tasks.taskExample("reverse", { word: "cat", phonemes: [] }), { task: "reverse", input: "reverse: cat", target: "tac" });
});

test("a small T5 learns two prefixed tasks on a few words and decodes them exactly", () => {
  manualSeed(0);
  const v = new tasks.TextToTextVocab();
  const words = ["cat", "dog", "sea", "ship", "oar", "mast"];
  const pairs = words.flatMap((w) => [{ input: `reverse: ${w}`, target: [...w].reverse().join("") }, { input: `g2p: ${w}`, target: w.toUpperCase().split("").join(" ") === "" ? "" : "K" }]);
  // the second task here: "g2p:" answers a constant phoneme, so the prefix alone must switch behaviour
  const cfg = models.t5Config("t5-tiny", { vocabSize: v.size, dModel: 64, dKv: 16, numHeads: 4, dFf: 128, numLayers: 1, numDecoderLayers: 1, dropoutRate: 0 });
  const m = new models.T5ForConditionalGeneration(cfg);
  const pad = (rows: number[][]): Tensor => {
    const T = Math.max(...rows.map((r) => r.length));
    const out = new Int32Array(rows.length * T);
    rows.forEach((r, b) => out.set(r, b * T));
    return new Tensor(out, [rows.length, T]);
  };
  const src = pad(pairs.map((p) => v.encode(p.input))), labels = pad(pairs.map((p) => v.encode(p.target)));
  const opt = new optim.AdamW(m.parameters(), { lr: 1e-2 });
  for (let step = 0; step < 120; step++) {
    const logits = m.forward(src, { decoderInputIds: m.shiftRight(labels) }).logits;
    const loss = F.crossEntropy(logits.reshape([-1, v.size]), labels.reshape([-1]), { ignoreIndex: 0 });
    opt.zeroGrad();
    loss.backward();
    opt.step();
  }
  m.eval();
  assert.deepEqual(tasks.runT5(m, v, pairs.map((p) => p.input)), pairs.map((p) => p.target));
});
