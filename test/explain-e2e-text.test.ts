// The explorer's head view for a GPT-2 checkpoint in headless Chromium: type a text, see the
// next token and one line per visible weight, every line going from a token to itself or an
// earlier token (causal attention), and hovering a token isolates its lines. A tiny GPT saved
// from a fixed-seed random init in the format `train gpt` writes. Skipped without
// /usr/bin/chromium unless TSFORMER_E2E=1 (see explain-e2e.test.ts).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { data, manualSeed, models, tasks } from "../src/index.js";
import { startServer } from "../src/cli/serve.js";

const CHROMIUM = process.env.TSFORMER_CHROMIUM ?? "/usr/bin/chromium";
const skip = !existsSync(CHROMIUM) && process.env.TSFORMER_E2E !== "1" ? `no ${CHROMIUM} (apt-get install -y chromium)` : false;

test("explorer in headless Chromium: GPT-2's causal head view", { skip, timeout: 90_000 }, async () => {
  const { chromium } = await import("playwright-core");
  const root = mkdtempSync(join(tmpdir(), "tsformer-e2e-gpt-"));
  manualSeed(3);
  const tokenizer = data.tokenizers.CharTokenizer.fromText("abcdefgh");
  const config = models.gptConfig("gpt-tiny", { vocabSize: tokenizer.vocabSize, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2 });
  tasks.saveLM(root, { model: new models.GPT2LMHeadModel(config), tokenizer, config });
  const server = await startServer({ model: root, port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM, timeout: 30_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(server.url, { timeout: 20_000 });
    await page.waitForSelector("body[data-state=ready]");
    assert.match((await page.locator("#model-info").textContent()) ?? "", /gpt2 model, 2 layers x 2 heads/);
    await page.fill("#text", "abcde");
    await page.click("#text-form button");
    await page.waitForSelector("body[data-state=done]");
    assert.match((await page.locator("#output").textContent()) ?? "", /^[a-h]$/);
    assert.deepEqual(await page.locator("#headview text[text-anchor=start]").allTextContents(), ["a", "b", "c", "d", "e"]);
    const lines = await page.locator("#headview line").evaluateAll((ls) => ls.map((l) => ({ y1: Number(l.getAttribute("y1")), y2: Number(l.getAttribute("y2")) })));
    assert.ok(lines.length >= 5, `${lines.length} lines`);
    assert.ok(lines.every((l) => l.y2 <= l.y1), "a line goes to a later token: attention is not causal");
    await page.locator("#headview text[text-anchor=end]").last().hover();
    const opacities = await page.locator("#headview line").evaluateAll((ls) => ls.map((l) => Number(l.getAttribute("stroke-opacity"))));
    assert.ok(opacities.some((o) => o === 0.02), "lines of other tokens fade");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close().catch(() => undefined);
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});
