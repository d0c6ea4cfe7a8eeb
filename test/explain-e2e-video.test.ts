// The explorer with a video classifier in headless Chromium: upload a clip (MP4 written by the
// packaged ffmpeg) through the page's file input, wait for the per-frame attention strip and GIF,
// check the label is shown and the pictures are the clip's frames (size, and not blank), switch
// the view, save runs/e2e/explorer-video.png; a broken clip shows the server's message. A tiny
// TimeSformer saved from a fixed-seed random init is enough: the page shows what the server drew.
// Skipped without /usr/bin/chromium unless TSFORMER_E2E=1 (see explain-e2e.test.ts).

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { manualSeed } from "../src/index.js";
import { startServer } from "../src/cli/serve.js";
import { encodeVideo } from "../src/data/video.js";
import { buildVideoModel, saveVideoCheckpoint, videoClassNames, videoModelSpec } from "../src/tasks/video-classification.js";
import { Tensor } from "../src/tensor/tensor.js";

const CHROMIUM = process.env.TSFORMER_CHROMIUM ?? "/usr/bin/chromium";
const skip = !existsSync(CHROMIUM) && process.env.TSFORMER_E2E !== "1" ? `no ${CHROMIUM} (apt-get install -y chromium)` : false;

test("explorer in headless Chromium: upload a clip, see the label and the attention per frame", { skip, timeout: 90_000 }, async () => {
  const { chromium } = await import("playwright-core");
  const root = mkdtempSync(join(tmpdir(), "tsformer-e2e-video-"));
  const T = 4, S = 16;
  manualSeed(5);
  const spec = videoModelSpec("timesformer-divided", { numLabels: 4, numFrames: T, imageSize: S, numChannels: 1, hiddenSize: 16, numHiddenLayers: 1, patchSize: 4 });
  saveVideoCheckpoint(root, buildVideoModel(spec), spec, { name: "timesformer-divided", label: "direction", classNames: videoClassNames("direction") });
  const d = new Float32Array(T * S * S).fill(0.1);
  for (let t = 0; t < T; t++) for (let y = 6; y < 10; y++) for (let x = 2 + 3 * t; x < 6 + 3 * t; x++) d[t * S * S + y * S + x] = 0.9;
  const clipPath = join(root, "square.mp4"), badPath = join(root, "broken.webm");
  encodeVideo(clipPath, new Tensor(d, [T, 1, S, S]), 4);
  writeFileSync(badPath, "this is not a clip");
  const server = await startServer({ model: root, port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM, timeout: 30_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(server.url, { timeout: 20_000 });
    await page.waitForSelector("body[data-state=ready]");
    assert.match((await page.locator("#model-info").textContent()) ?? "", /video classifier \(timesformer\), 4 frames of 16x16/);
    await page.locator("#video-file").setInputFiles(clipPath);
    await page.waitForSelector("body[data-state=done]");
    assert.ok(videoClassNames("direction").includes((await page.locator("#video-label").textContent())?.trim() ?? ""));
    // the strip is T frames of 96 px with 2 px between, the GIF one frame; neither blank
    const look = () => page.evaluate(() => {
      const stats = (id: string) => {
        const img = document.getElementById(id) as HTMLImageElement;
        const c = document.createElement("canvas");
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext("2d")!;
        g.drawImage(img, 0, 0);
        const px = g.getImageData(0, 0, c.width, c.height).data, colours = new Set<number>();
        for (let i = 0; i < px.length; i += 4) colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
        return { w: img.naturalWidth, h: img.naturalHeight, colours: colours.size };
      };
      return { strip: stats("video-strip"), gif: stats("video-gif"), view: document.body.dataset.view };
    });
    await page.waitForFunction(() => (document.getElementById("video-gif") as HTMLImageElement).complete && (document.getElementById("video-strip") as HTMLImageElement).complete);
    const a = await look();
    assert.deepEqual([a.strip.w, a.strip.h, a.gif.w, a.gif.h, a.view], [T * 96 + (T - 1) * 2, 96, 96, 96, "rollout"]);
    assert.ok(a.strip.colours > 20 && a.gif.colours > 5, `strip ${a.strip.colours} colours, gif ${a.gif.colours}`);
    // another view: one attention call's head mean
    const options = await page.locator("#video-view option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    // attn0 is TimeSformer's temporal attention: no spatial map; attn1 has its head mean, then each head
    assert.deepEqual(options, ["rollout", "attn1", "attn1-head0", "attn1-head1", "attn1-head2", "attn1-head3"]);
    await page.selectOption("#video-view", "attn1");
    assert.equal(await page.evaluate(() => document.body.dataset.view), "attn1");
    await page.selectOption("#video-view", "attn1-head2");
    assert.equal(await page.evaluate(() => document.body.dataset.view), "attn1-head2");
    mkdirSync("runs/e2e", { recursive: true });
    await page.screenshot({ path: "runs/e2e/explorer-video.png", fullPage: true, timeout: 20_000 });
    await page.locator("#video-file").setInputFiles(badPath);
    await page.waitForSelector("body[data-state=error]");
    assert.match((await page.locator("#error").textContent()) ?? "", /the upload "broken\.webm"/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close().catch(() => undefined);
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});
