// The in-tab training page (web/train/) end to end in headless Chromium: train a small ViT on
// MNIST digits for a few dozen steps with the loss curve drawn live, check the loss falls,
// then draw a digit on the canvas with the mouse, classify it and check the attention heat map.
// Twice: on the js backend, and with "on the GPU" ticked, where WebGPUViTTrainer trains the same
// model on Chromium's WebGPU (SwiftShader here) and hands the weights back for the heat map.

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromiumSkip, openPage } from "./helpers/browser.js";

const pageDir = join(fileURLToPath(import.meta.url), "..", "..", "web", "train");
const STEPS = 40;

for (const gpu of [false, true]) {
  test(`training page in headless Chromium${gpu ? ", on WebGPU" : ""}: the loss falls live, a drawn digit gets a label and a heat map`, { skip: chromiumSkip, timeout: 90_000 }, async () => {
    const s = await openPage(pageDir, { path: `/index.html?steps=${STEPS}${gpu ? "&gpu" : ""}`, webgpu: gpu });
    try {
      const { page } = s;
      await page.waitForSelector("body[data-state=ready]");
      assert.equal(await page.isChecked("#gpu"), gpu);
      await page.click("#train");
      // the curve grows while training runs (drawn live, not at the end)
      await page.waitForFunction(() => Number(document.getElementById("loss")!.dataset.points) >= 5);
      assert.equal(await page.evaluate(() => document.body.dataset.state), "training");
      await page.waitForSelector("body[data-state=trained]", { timeout: 75_000 });
      const losses = await page.evaluate(() => (window as unknown as { losses: number[] }).losses);
      assert.equal(losses.length, STEPS);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const first = mean(losses.slice(0, 5)), last = mean(losses.slice(-5));
      assert.ok(first > 2 && last < first - 0.15, `loss ${first.toFixed(3)} -> ${last.toFixed(3)} did not fall`);
      assert.equal(await page.getAttribute("#loss", "data-points"), String(STEPS));
      if (gpu) assert.match((await page.textContent("#status")) ?? "", /on the GPU \(google swiftshader/i);
      // draw a "1": one vertical stroke down the middle of the drawing canvas
      const box = (await page.locator("#draw").boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + 30);
      await page.mouse.down();
      for (let y = 30; y <= box.height - 30; y += 10) await page.mouse.move(box.x + box.width / 2, box.y + y);
      await page.mouse.up();
      await page.click("#predict");
      await page.waitForSelector("body[data-state=done]");
      assert.match((await page.textContent("#label")) ?? "", /^[0-9]$/);
      const stats = await page.evaluate(() => {
        const c = document.getElementById("heatmap") as HTMLCanvasElement;
        const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        const colours = new Set<number>();
        for (let i = 0; i < d.length; i += 4) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return colours.size;
      });
      assert.ok(stats > 10, `heat map has only ${stats} colours`);
      assert.deepEqual(s.errors, []);
    } finally {
      await s.close();
    }
  });
}
