// Language modelling with GPT: bits per character against the uniform model's log2(V), a
// small model that learns a text, saving and loading with the tokenizer, and the generate
// command's handling of prompts longer than the context.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { data, models, tasks } from "../src/index.js";
import { main } from "../src/cli/main.js";

test("evaluateLM: a model with all-zero weights scores exactly log2(V) bits per character", () => {
  const tok = data.tokenizers.CharTokenizer.fromText("abcdefgh");
  const m = new models.GPT2LMHeadModel(models.gptConfig("gpt-tiny", { vocabSize: tok.vocabSize, nPositions: 8 }));
  for (const p of m.parameters()) p.data.fill(0);
  const ids = tok.encode("abcdefghhgfedcbaabcdefgh");
  const r = tasks.evaluateLM(m, ids, 24);
  assert.ok(Math.abs(r.bitsPerChar - Math.log2(8)) < 1e-5, `${r.bitsPerChar}`);
  assert.equal(r.tokens, 23, "every token after the first is predicted once");
});

test("a small GPT learns a text: validation under 0.5 bits/char; save, load and generate", async () => {
  const text = "call me ishmael. some years ago, never mind how long precisely. ".repeat(60);
  const r = tasks.trainLM({ text, preset: "gpt-tiny", config: { nPositions: 32, nEmbd: 48, nHead: 2, nLayer: 1, embdPdrop: 0, attnPdrop: 0, residPdrop: 0 }, steps: 150, batchSize: 8, lr: 1e-2 });
  assert.ok(r.validation.bitsPerChar < 0.5, `validation ${r.validation.bitsPerChar} bits/char`);
  const dir = mkdtempSync(join(tmpdir(), "tsformer-lm-"));
  tasks.saveLM(dir, r);
  const back = tasks.loadLM(dir);
  const prompt = back.tokenizer.encode("call me ");
  const a = r.model.generate(prompt, { maxNewTokens: 20, temperature: 0 });
  assert.deepEqual(back.model.generate(prompt, { maxNewTokens: 20, temperature: 0 }), a);
  assert.equal(back.tokenizer.decode(a), "ishmael. some years ");
  // the command line: a prompt longer than the context is an error unless --truncate
  const long = "some years ago ".repeat(5);
  await assert.rejects(main(["generate", "--model", dir, "--prompt", long]), /the prompt has 75 tokens, more than the context window of 32; shorten it or pass truncatePrompt/);
  const log = console.log;
  let out = "";
  console.log = (s: string) => (out += s);
  try {
    assert.equal(await main(["generate", "--model", dir, "--prompt", long, "--truncate", "--max-new-tokens", "5", "--temperature", "0", "--json"]), 0);
  } finally {
    console.log = log;
  }
  assert.equal(JSON.parse(out).tokens, 5);
  assert.throws(() => tasks.loadLM(join(dir, "missing")), /no checkpoint directory/);
});
