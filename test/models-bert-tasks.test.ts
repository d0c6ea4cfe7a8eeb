// BERT's training tasks: the 15% / 80-10-10 masking of §3.1 measured on a large batch, the
// masked-position shortcut equal to the full loss, fine-tuning that learns a small
// classification task, the metrics, and the fixed SpamAssassin split.

import assert from "node:assert/strict";
import { test } from "node:test";
import { data, F, Generator, manualSeed, models, tasks, tensor, Tensor } from "../src/index.js";

test("maskTokens chooses 15% of ordinary positions: 80% [MASK], 10% random, 10% unchanged; specials never", () => {
  const V = 1000, MASK = 4, specials = [0, 1, 2, 3, 4];
  const B = 50, T = 400;
  const ids = new Int32Array(B * T);
  const g0 = new Generator(7);
  for (let i = 0; i < ids.length; i++) ids[i] = i % T === 0 ? 2 : i % T === T - 1 ? 3 : i % 97 === 0 ? 0 : g0.randint(5, V);
  const { inputIds, labels } = tasks.maskTokens(new Tensor(ids, [B, T]), { maskId: MASK, vocabSize: V, specialIds: specials }, new Generator(1));
  let ordinary = 0, chosen = 0, masked = 0, random = 0, kept = 0;
  for (let i = 0; i < ids.length; i++) {
    const special = specials.includes(ids[i]);
    if (special) {
      assert.equal(labels.data[i], tasks.IGNORE, "a special token is never chosen");
      assert.equal(inputIds.data[i], ids[i]);
      continue;
    }
    ordinary++;
    if (labels.data[i] === tasks.IGNORE) {
      assert.equal(inputIds.data[i], ids[i], "unchosen positions are unchanged");
      continue;
    }
    chosen++;
    assert.equal(labels.data[i], ids[i], "the label is the original token");
    if (inputIds.data[i] === MASK) masked++;
    else if (inputIds.data[i] === ids[i]) kept++;
    else {
      random++;
      assert.ok(!specials.includes(inputIds.data[i]), "random replacements are ordinary tokens");
    }
  }
  // ~19,600 ordinary positions: the binomial standard deviations are ~0.3% (chosen) and ~1% (shares)
  assert.ok(Math.abs(chosen / ordinary - 0.15) < 0.012, `chosen ${chosen / ordinary}`);
  assert.ok(Math.abs(masked / chosen - 0.8) < 0.03, `masked ${masked / chosen}`);
  assert.ok(Math.abs(random / chosen - 0.1) < 0.025, `random ${random / chosen}`);
  assert.ok(Math.abs(kept / chosen - 0.1) < 0.025, `kept ${kept / chosen}`);
});

test("the loss on masked positions only equals the loss on full logits with ignored labels", () => {
  manualSeed(2);
  const cfg = models.bertConfig("bert-tiny", { vocabSize: 50, hiddenSize: 32, numAttentionHeads: 2, intermediateSize: 64, numHiddenLayers: 1, maxPositionEmbeddings: 16 });
  const m = new models.BertForMaskedLM(cfg).eval();
  const ids = tensor([[2, 10, 11, 12, 13, 14, 3, 0], [2, 20, 21, 22, 3, 0, 0, 0]], [2, 8], { dtype: "int32" });
  const mask = tensor([[1, 1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 0, 0, 0]], [2, 8], { dtype: "int32" });
  const labels = tensor([[-100, 10, -100, 12, -100, -100, -100, -100], [-100, -100, 21, -100, -100, -100, -100, -100]], [2, 8], { dtype: "int32" });
  const full = F.crossEntropy(m.forward(ids, { attentionMask: mask }).logits.reshape([-1, 50]), labels.reshape([-1]), { ignoreIndex: -100 });
  const { logits, targets } = tasks.maskedLogits(m, ids, labels, mask);
  assert.deepEqual(logits.shape, [3, 50]);
  assert.ok(Math.abs(F.crossEntropy(logits, targets).item() - full.item()) < 1e-5);
});

test("binaryMetrics: accuracy, and precision, recall and F1 of the positive class", () => {
  // tp 2, fp 1, fn 1, tn 2
  const r = tasks.binaryMetrics([1, 1, 1, 0, 0, 0], [1, 1, 0, 1, 0, 0]);
  assert.equal(r.accuracy, 4 / 6);
  assert.equal(r.precision, 2 / 3);
  assert.equal(r.recall, 2 / 3);
  assert.ok(Math.abs(r.f1 - 2 / 3) < 1e-12);
  assert.equal(tasks.binaryMetrics([0, 0], [0, 0]).f1, 0);
  assert.throws(() => tasks.binaryMetrics([1], [1, 0]), /1 predictions for 2 labels/);
});

test("fine-tuning BERT learns a small text classification task (held-out accuracy 100%)", () => {
  const words = ["whale", "sea", "ship", "captain", "harpoon", "deck", "mast", "sail", "storm", "wave", "boat", "oil"];
  const g = new Generator(3);
  const make = (n: number) => Array.from({ length: n }, () => {
    const label = g.randint(0, 2);
    const ws = Array.from({ length: 6 }, () => words[g.randint(0, words.length)]);
    ws[g.randint(0, 6)] = label ? "free" : "dear"; // the word that decides the class
    return { text: ws.join(" "), label };
  });
  const train = make(200), heldOut = make(60);
  const tok = data.tokenizers.WordPiece.train(train.map((e) => e.text), { vocabSize: 120 });
  const cfg = models.bertConfig("bert-tiny", { vocabSize: tok.vocabSize, hiddenSize: 32, numAttentionHeads: 2, intermediateSize: 64, numHiddenLayers: 1, maxPositionEmbeddings: 16, hiddenDropoutProb: 0 });
  const { model } = tasks.finetuneClassifier(cfg, train, tok, { steps: 100, batchSize: 16, maxLen: 16, lr: 3e-3 });
  const pred = tasks.classify(model, heldOut.map((e) => e.text), tok, 16);
  assert.equal(tasks.binaryMetrics(pred, heldOut.map((e) => e.label)).accuracy, 1);
});

test("SpamAssassin: a fixed split by hash (4844 train, 1202 test), subject and body kept, stratified subsets", () => {
  const { train, test: held } = data.spamAssassin();
  assert.equal(train.length, 4844);
  assert.equal(held.length, 1202);
  assert.equal(train.filter((e) => e.label).length, 1522);
  assert.equal(held.filter((e) => e.label).length, 374);
  assert.ok(!train.some((e) => held.some((h) => h.key === e.key)), "no message in both");
  const sub = tasks.labelledSubset(train, 100, 0);
  assert.equal(sub.length, 100);
  assert.equal(sub.filter((e) => e.label).length, Math.round((100 * 1522) / 4844));
  assert.deepEqual(tasks.labelledSubset(train, 100, 0).map((e) => e.key), sub.map((e) => e.key), "the same subset every time");
  assert.equal(data.cleanEmail("From: a@b\nSubject: Win now\n\n<p>Hello&nbsp;<b>you</b></p>"), "Win now Hello you");
});
