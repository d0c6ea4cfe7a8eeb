import assert from "node:assert/strict";
import { test } from "node:test";

import { positiveOption } from "../src/cli/options.js";

test("positiveOption reads positive numbers, defaults when absent, and names command and option otherwise", () => {
  const values = { steps: "12", lr: "3e-4", bad: "0", frac: "1.5", word: "ten" };
  assert.equal(positiveOption("tsformer x", values, "steps", 5), 12);
  assert.equal(positiveOption("tsformer x", values, "missing", 5), 5);
  assert.equal(positiveOption("tsformer x", values, "missing", undefined), undefined);
  assert.equal(positiveOption("tsformer x", values, "lr", undefined, false), 3e-4);
  assert.throws(() => positiveOption("tsformer x", values, "bad", 1), /tsformer x: --bad must be a positive integer, got "0"/);
  assert.throws(() => positiveOption("tsformer x", values, "frac", 1), /--frac must be a positive integer, got "1.5"/);
  assert.throws(() => positiveOption("tsformer x", values, "word", 1, false), /--word must be a positive number, got "ten"/);
});
