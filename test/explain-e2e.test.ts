// The explorer end to end in headless Chromium (Debian's chromium, driven by playwright-core):
// train a tiny ViT, serve it, upload an image through the page's file input, wait for the heat
// map, check the canvas is not blank and the predicted label is shown, and save a screenshot
// (runs/e2e/explorer.png). Then a bad upload shows the server's message. Every wait has a
// timeout; the browser and the server are closed whatever happens.
//
// Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it). Without it the
// test is skipped and says why, unless TSFORMER_E2E=1 demands it.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startServer } from "../src/cli/serve.js";
import { encodePng } from "../src/explain/index.js";
import { QUADRANTS, quadrantImage, quadrantOf, trainTinyViT } from "./helpers/tiny-vit.js";

const CHROMIUM = process.env.TSFORMER_CHROMIUM ?? "/usr/bin/chromium";
const have = existsSync(CHROMIUM);
const skip = !have && process.env.TSFORMER_E2E !== "1" ? `no ${CHROMIUM} (apt-get install -y chromium)` : false;

test("explorer in headless Chromium: upload an image, see the label and a heat map", { skip, timeout: 120_000 }, async () => {
  const { chromium } = await import("playwright-core");
  const root = mkdtempSync(join(tmpdir(), "tsformer-e2e-"));
  const modelDir = join(root, "vit");
  const trained = trainTinyViT(modelDir);
  assert.ok(trained.accuracy >= 0.9, `tiny ViT accuracy ${trained.accuracy}`);
  // the square sits in patch (1, 2): the top-right quadrant
  let s = 5;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const px = quadrantImage(1, 2, rand), data = new Uint8Array(256 * 3);
  px.forEach((v, i) => data.fill(Math.round(v * 255), i * 3, i * 3 + 3));
  const imagePath = join(root, "square.png"), badPath = join(root, "broken.png");
  writeFileSync(imagePath, await encodePng({ width: 16, height: 16, data }));
  writeFileSync(badPath, "this is not a PNG");

  const server = await startServer({ model: modelDir, port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM, timeout: 30_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(server.url, { timeout: 20_000 });
    await page.waitForSelector("body[data-state=ready]");
    await page.locator("#file").setInputFiles(imagePath);
    await page.waitForSelector("body[data-state=done]");
    const label = (await page.locator("#label").textContent())?.trim();
    assert.equal(label, QUADRANTS[quadrantOf(1, 2)]);
    // the heat map canvas: not blank (many distinct colours, not all white or all one colour)
    const stats = await page.evaluate(() => {
      const c = document.getElementById("heatmap") as HTMLCanvasElement;
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set<number>();
      let opaque = 0;
      for (let i = 0; i < d.length; i += 4) {
        colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        if (d[i + 3] === 255) opaque++;
      }
      return { colours: colours.size, opaque, pixels: d.length / 4, view: c.dataset.view };
    });
    assert.ok(stats.colours > 50, `heat map has only ${stats.colours} colours`);
    assert.equal(stats.opaque, stats.pixels);
    assert.equal(stats.view, "rollout");
    // one small canvas per head of the chosen layer; picking one redraws the big map
    assert.equal(await page.locator("#heads canvas").count(), 2);
    await page.locator("#heads figure").nth(1).click();
    assert.equal(await page.locator("#heatmap").getAttribute("data-view"), "layer 0 1");
    mkdirSync("runs/e2e", { recursive: true });
    await page.selectOption("#view", "rollout");
    await page.screenshot({ path: "runs/e2e/explorer.png", fullPage: true, timeout: 20_000 });
    // a broken upload: the server's message is shown, the page keeps working
    await page.locator("#file").setInputFiles(badPath);
    await page.waitForSelector("body[data-state=error]");
    assert.match((await page.locator("#error").textContent()) ?? "", /broken\.png.*could not be decoded as an image/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close().catch(() => undefined);
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test("explorer in headless Chromium: a word's head view draws lines and hovering isolates a token", { skip, timeout: 90_000 }, async () => {
  const { chromium } = await import("playwright-core");
  const { manualSeed } = await import("../src/index.js");
  const { Vocabulary } = await import("../src/data/vocab.js");
  const { saveG2PCheckpoint } = await import("../src/tasks/g2p-checkpoint.js");
  const { Seq2Seq, defaultSpec } = await import("../src/tasks/seq2seq.js");
  const root = mkdtempSync(join(tmpdir(), "tsformer-e2e-text-"));
  manualSeed(12);
  const letters = new Vocabulary([..."abcdefghijklmnopqrstuvwxyz'"]), phonemes = new Vocabulary(["K", "AE1", "T", "D", "AO1", "G"]);
  const spec = defaultSpec("transformer", letters.size, phonemes.size, "tiny", 48);
  saveG2PCheckpoint(root, { model: new Seq2Seq(spec), vocabs: { letters, phonemes }, spec });
  const server = await startServer({ model: root, port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM, timeout: 30_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(server.url, { timeout: 20_000 });
    await page.waitForSelector("body[data-state=ready]");
    await page.fill("#text", "dog");
    await page.click("#text-form button");
    await page.waitForSelector("body[data-state=done]");
    // cross-attention is shown first: letters on the right, one line per visible weight
    assert.match((await page.locator("#attn option:checked").textContent()) ?? "", /^cross: decoder\.\d\.crossAttn/);
    const keys = await page.locator("#headview text[text-anchor=start]").allTextContents();
    assert.deepEqual(keys, ["d", "o", "g"]);
    assert.ok((await page.locator("#headview line").count()) > 0);
    const opacities = () => page.locator("#headview line").evaluateAll((ls) => ls.map((l) => Number(l.getAttribute("stroke-opacity"))));
    const before = await opacities();
    await page.locator("#headview text[text-anchor=start]").first().hover();
    const during = await opacities();
    assert.ok(during.some((o, i) => o !== before[i]), "hovering a token changes the lines");
    assert.ok(during.some((o) => o === 0.02), "lines of other tokens fade");
  } finally {
    await browser.close().catch(() => undefined);
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});
