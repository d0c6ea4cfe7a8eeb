import assert from "node:assert/strict";
import { test } from "node:test";
import { editDistance, sequenceErrorRates, sequenceErrorRatesAnyReference } from "../src/train/seq-metrics.js";

test("editDistance: hand-computed cases", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("abc", ""), 3);
  assert.equal(editDistance("", "ab"), 2);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("flaw", "lawn"), 2);
  assert.equal(editDistance(["K", "AE", "T"], ["K", "AE", "T"]), 0);
  assert.equal(editDistance(["K", "AE", "T"], ["K", "AH", "T", "S"]), 2); // one substitution, one insertion
  assert.equal(editDistance([1, 2, 3, 4], [4, 3, 2, 1]), 4);
  assert.equal(editDistance("abc", "cab"), editDistance("cab", "abc"));
});

test("sequenceErrorRates: WER counts wrong words, PER sums edits over reference phonemes", () => {
  const refs = [["K", "AE", "T"], ["D", "AO", "G"], ["B", "ER", "D"], ["F", "IH", "SH"]];
  const preds = [["K", "AE", "T"], ["D", "AA", "G"], ["B", "ER", "D"], ["F", "IH", "S", "H"]];
  const r = sequenceErrorRates(preds, refs);
  assert.equal(r.words, 4);
  assert.equal(r.wer, 0.5); // "DOG" and "FISH" are wrong
  assert.equal(r.edits, 1 + 2); // AO->AA; SH->S plus inserted H
  assert.equal(r.referenceTokens, 12);
  assert.equal(r.per, 3 / 12);
  assert.equal(r.exactMatch, 0.5);
});

test("sequenceErrorRates: empty and mismatched inputs", () => {
  assert.deepEqual(sequenceErrorRates([], []), { wer: 0, per: 0, exactMatch: 0, words: 0, referenceTokens: 0, edits: 0 });
  assert.throws(() => sequenceErrorRates([[1]], []), /1 predictions but 0 references/);
});

test("sequenceErrorRatesAnyReference: right when any reference matches, PER against the closest", () => {
  // "read" has two pronunciations; "either" two as well; "cat" one
  const refs = [[["R", "IY", "D"], ["R", "EH", "D"]], [["IY", "DH", "ER"], ["AY", "DH", "ER"]], [["K", "AE", "T"]]];
  const preds = [["R", "EH", "D"], ["AY", "DH", "AH", "R"], ["K", "AE", "T"]];
  const r = sequenceErrorRatesAnyReference(preds, refs);
  assert.equal(r.wer, 1 / 3); // only "either" is wrong: the second pronunciation of "read" counts
  // "either": 2 edits from AY DH ER (closest: substitute ER->AH, insert R), 3 from IY DH ER
  assert.equal(r.edits, 2);
  assert.equal(r.referenceTokens, 9);
  // against the first reference only, "read" is wrong too
  assert.equal(sequenceErrorRates(preds, refs.map((x) => x[0])).wer, 2 / 3);
  assert.throws(() => sequenceErrorRatesAnyReference([["A"]], [[]]), /sequence 0 has no reference/);
  assert.throws(() => sequenceErrorRatesAnyReference([["A"]], []), /1 predictions but 0 reference sets/);
});

test("ProgressBar: silent when quiet or when the stream is not a terminal", async () => {
  const { ProgressBar } = await import("../src/train/progress.js");
  const writes: string[] = [];
  const fake = { isTTY: false, write: (s: string) => { writes.push(s); return true; } } as unknown as NodeJS.WriteStream;
  const bar = new ProgressBar({ stream: fake });
  assert.equal(bar.enabled, false);
  bar.begin(3, "epoch 1/1");
  bar.tick(10, 1.5);
  bar.end();
  assert.deepEqual(writes, []);
  assert.equal(new ProgressBar({ quiet: true, stream: { ...fake, isTTY: true } as unknown as NodeJS.WriteStream }).enabled, false);
});
