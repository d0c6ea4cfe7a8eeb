// `npm start`'s demo, small: it trains, saves a checkpoint that `predict` reads, and writes the
// Markdown and HTML reports whose pictures all exist.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { vitDemo } from "../examples/vit-demo.js";

test("the ViT demo trains, and writes report.json, report.md and an HTML report with attention pictures", async () => {
  const out = mkdtempSync(join(tmpdir(), "tsformer-vit-demo-"));
  try {
    // (one epoch on 512 digits teaches a ViT little: the full demo's accuracy is in docs/VIT.md)
    const r = await vitDemo({ epochs: 1, trainLimit: 512, out, log: () => {} });
    const json = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    // the accuracy it reports is the confusion matrix's diagonal over the 10,000 test digits
    const confusion: number[][] = json.confusion;
    const total = confusion.flat().reduce((a, b) => a + b, 0);
    assert.equal(total, 10000);
    assert.ok(Math.abs(confusion.reduce((a, row, i) => a + row[i], 0) / total - r.test_accuracy) < 1e-9);
    assert.equal(json.samples.length, 10);
    for (const s of json.samples) assert.ok(existsSync(join(out, s.file)), s.file);
    const html = readFileSync(r.html, "utf8");
    const pictures = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(pictures.some((p) => /rollout/.test(p)), "a rollout picture");
    for (const p of pictures) assert.ok(existsSync(join(out, "report", p)), `${p} exists`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
