// GPT-2 against PyTorch (scripts/fixtures/text_models.py writes Hugging Face's modeling_gpt2
// computation): weights load by Hugging Face's names, logits and gradients agree within 1e-4
// on both backends; the tied output projection; the gpt2 preset's 124M parameters; bad input.

import assert from "node:assert/strict";
import { test } from "node:test";
import { availableBackends, Generator, manualSeed, models, tensor, withBackend } from "../src/index.js";
import { assertClose, assertCloseScaled, fromFixture, stateFromFixture, textFixture } from "./helpers/text-fixtures.js";

const c = textFixture().gpt2.find((x) => x.kind === "GPT2LMHeadModel")!;

for (const backend of availableBackends()) {
  test(`[${backend}] GPT2LMHeadModel equals PyTorch: logits and gradients`, () => withBackend(backend, () => {
    const m = new models.GPT2LMHeadModel(c.config as models.GPT2Config);
    m.loadStateDict(stateFromFixture(c.params)); // strict: Hugging Face's names, lm_head tied to wte
    m.eval();
    const { logits } = m.forward(fromFixture(c.inputs.inputIds));
    assertClose(logits, c.output!, "logits");
    logits.mul(fromFixture(c.gradOutput!)).sum().backward();
    const named = Object.fromEntries(m.namedParameters());
    for (const [name, g] of Object.entries(c.paramGrads)) assertCloseScaled(named[name].grad, g, `grad of ${name}`);
  }));
}

test("GPT2Model returns the last hidden state; the LM head is the tied embedding", () => {
  const m = new models.GPT2LMHeadModel(c.config as models.GPT2Config).eval();
  const ids = fromFixture(c.inputs.inputIds);
  const { lastHiddenState } = m.transformer.forward(ids);
  assert.deepEqual(lastHiddenState.shape, [2, 9, 32]);
  const logits = lastHiddenState.matmul(m.transformer.wte.weight.transpose(0, 1));
  const ours = m.forward(ids).logits;
  for (let i = 0; i < ours.numel; i++) assert.ok(Math.abs(ours.data[i] - logits.data[i]) < 1e-4);
  assert.ok(!m.namedParameters().some(([n]) => n.startsWith("lm_head")), "lm_head.weight is wte, listed once");
});

test("causal: a later token never changes earlier logits", () => {
  const m = new models.GPT2LMHeadModel(c.config as models.GPT2Config).eval();
  const a = m.forward(tensor([[1, 2, 3, 4]], [1, 4], { dtype: "int32" })).logits;
  const b = m.forward(tensor([[1, 2, 3, 9]], [1, 4], { dtype: "int32" })).logits;
  const V = a.shape[2];
  for (let i = 0; i < 3 * V; i++) assert.ok(Math.abs(a.data[i] - b.data[i]) < 1e-5);
  assert.ok([...Array(V).keys()].some((j) => Math.abs(a.data[3 * V + j] - b.data[3 * V + j]) > 1e-4));
});

test("the gpt2 preset has GPT-2 small's 124,439,808 parameters", () => {
  assert.equal(new models.GPT2LMHeadModel(models.gptPresets.gpt2).numParameters(), 124_439_808);
});

test("GPT-2 refuses unknown token ids and sequences longer than the context, naming them", () => {
  const m = new models.GPT2LMHeadModel(c.config as models.GPT2Config);
  assert.throws(() => m.forward(tensor([[1, 50]], [1, 2], { dtype: "int32" })), /id 50 at position 1 is out of range for 50 embeddings/);
  const long = tensor([Array.from({ length: 17 }, (_, i) => i)], [1, 17], { dtype: "int32" });
  assert.throws(() => m.forward(long), /sequence length 17 exceeds the context window of 16 positions/);
  assert.throws(() => m.forward(tensor([1, 2], [2], { dtype: "int32" })), /input ids must be \[B, T\], got \[2\]/);
});

test("generation with the key/value cache equals greedy decoding by full forward passes", () => {
  manualSeed(11);
  const m = new models.GPT2LMHeadModel(models.gptConfig("gpt-tiny", { vocabSize: 20, nPositions: 16 })).eval();
  const prompt = [3, 7, 1];
  const cached = m.generate(prompt, { maxNewTokens: 10, temperature: 0 });
  const seq = [...prompt];
  for (let n = 0; n < 10; n++) {
    const logits = m.forward(tensor([seq], [1, seq.length], { dtype: "int32" })).logits;
    const V = logits.shape[2], last = logits.data.subarray((seq.length - 1) * V);
    let best = 0;
    for (let j = 1; j < V; j++) if (last[j] > last[best]) best = j;
    seq.push(best);
  }
  assert.deepEqual(cached, seq.slice(prompt.length));
  // sampling: seeded, reproducible, top-k 1 is greedy
  const a = m.generate(prompt, { maxNewTokens: 8, generator: new Generator(5) });
  assert.deepEqual(m.generate(prompt, { maxNewTokens: 8, generator: new Generator(5) }), a);
  assert.deepEqual(m.generate(prompt, { maxNewTokens: 10, topK: 1 }), cached);
  // past the context window the window slides: 40 tokens from a 16-position model
  assert.equal(m.generate(prompt, { maxNewTokens: 40, temperature: 0 }).length, 40);
  // a stop token ends generation (and is returned)
  const stop = cached[2];
  const stopped = m.generate(prompt, { maxNewTokens: 10, temperature: 0, eos: stop });
  assert.equal(stopped.at(-1), stop);
  assert.ok(stopped.length <= 3);
});

test("generate refuses prompts longer than the context unless truncation is asked for, and unknown tokens", () => {
  const m = new models.GPT2LMHeadModel(models.gptConfig("gpt-tiny", { vocabSize: 20, nPositions: 16 }));
  const long = Array.from({ length: 20 }, (_, i) => i % 20);
  assert.throws(() => m.generate(long, { maxNewTokens: 1 }), /the prompt has 20 tokens, more than the context window of 16; shorten it or pass truncatePrompt/);
  assert.equal(m.generate(long, { maxNewTokens: 2, truncatePrompt: true, temperature: 0 }).length, 2);
  assert.throws(() => m.generate([1, 20], { maxNewTokens: 1 }), /prompt token 1 is 20, outside the vocabulary \[0, 20\)/);
  assert.throws(() => m.generate([], { maxNewTokens: 1 }), /the prompt is empty/);
  assert.throws(() => models.gptConfig("gpt5"), /unknown preset "gpt5"/);
});
