// The image-classification task: a small ViT trained on real MNIST digits to a real threshold,
// the hybrid and the CNN through the same trainer, MNIST from a --data-dir of gzipped IDX files,
// `tsformer train vit --json` and `tsformer predict` on PNG files, and checkpoint errors.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { after, test } from "node:test";

import { data, models, tasks } from "../src/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "bin", "tsformer.js");
const tmp = mkdtempSync(join(tmpdir(), "tsformer-image-task-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const tinyVit: models.ViTConfig = {
  ...models.vitPresets["vit-mnist"], patchSize: 7, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64,
};

/** An IDX file (big-endian header, uint8 values), as MNIST ships them. */
function idx(shape: number[], values: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = 0x08;
  head[3] = shape.length;
  shape.forEach((s, i) => head.writeUInt32BE(s, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(values)]);
}

// ViTs learn slowly from little data (the paper's point, section 4.2): this tiny one reaches about
// 55-60% on 1,000 test digits after 5 epochs on 3,000 (chance is 10%); the full-size runs are
// examples (docs/VIT.md).
test("a small ViT learns real digits: > 45% on 1,000 test images after 5 epochs on 3,000", () => {
  const trainSet = data.loadMnist("train", { limit: 3000 }), testSet = data.loadMnist("test", { limit: 1000 });
  const vit = new models.ViTForImageClassification(tinyVit);
  const r = tasks.trainImageClassifier(vit, trainSet.images, trainSet.labels, {
    epochs: 5, batchSize: 64, lr: 2e-3, warmupSteps: 20, shift: 0, labelSmoothing: 0, seed: 1,
  });
  assert.equal(r.epochs.length, 5);
  assert.ok(r.epochs[4].loss < 0.8 * r.epochs[0].loss, `training loss falls: ${r.epochs.map((e) => e.loss.toFixed(3)).join(" -> ")}`);
  const acc = tasks.evaluateImageClassifier(vit, testSet.images, testSet.labels);
  assert.ok(acc > 0.45, `test accuracy ${acc}`);
});

test("hybrid and CNN train through the same loop (training loss falls on 256 digits)", () => {
  const trainSet = data.loadMnist("train", { limit: 256 });
  for (const kind of ["hybrid", "cnn"] as const) {
    const model = tasks.buildImageClassifier(tasks.mnistModelSpec(kind));
    const r = tasks.trainImageClassifier(model, trainSet.images, trainSet.labels, {
      epochs: 4, batchSize: 32, lr: 2e-3, warmupSteps: 4, shift: 0, labelSmoothing: 0, seed: 2,
    });
    const losses = r.epochs.map((e) => e.loss);
    const curve = `${kind}: loss ${losses.map((l) => l.toFixed(3)).join(" -> ")}`;
    // every epoch lowers the training loss
    for (let i = 1; i < losses.length; i++) assert.ok(losses[i] < losses[i - 1], curve);
    // and the CNN by a real margin: with each block's last GroupNorm zero-initialised it stalled
    // near ln 10 = 2.30 (2.24 after these 32 steps, in PyTorch too); it now ends near 2.0
    if (kind === "cnn") assert.ok(losses[losses.length - 1] < 2.15, curve);
  }
});

test("selectDigits keeps chosen digits, relabelled, at most perClass each", () => {
  const d = data.loadMnist("test", { limit: 500 });
  const s = tasks.selectDigits(d, [7, 3], 10);
  assert.equal(s.labels.numel, 20);
  const row = 28 * 28;
  let k = 0;
  for (let i = 0; i < 500 && k < 20; i++) {
    const l = d.labels.data[i];
    if (l !== 7 && l !== 3) continue;
    const want = l === 7 ? 0 : 1;
    if ([...s.labels.data.subarray(0, k)].filter((x) => x === want).length >= 10) continue;
    assert.equal(s.labels.data[k], want);
    assert.deepEqual(Array.from(s.images.data.subarray(k * row, k * row + row)), Array.from(d.images.data.subarray(i * row, i * row + row)));
    k++;
  }
});

test("tsformer train vit --data-dir (gzipped IDX) --json, then tsformer predict on PNG files", async () => {
  // a data dir of gzipped IDX files cut from the real MNIST files
  const dir = join(tmp, "idx");
  mkdirSync(dir);
  const src = data.defaultMnistDir();
  const cut = (name: string, n: number, row: number) => {
    const a = data.readIdx(join(src, name));
    writeFileSync(join(dir, `${name}.gz`), gzipSync(idx([n, ...a.shape.slice(1)], (a.data as Uint8Array).subarray(0, n * row))));
  };
  cut("train-images-idx3-ubyte", 600, 784); cut("train-labels-idx1-ubyte", 600, 1);
  cut("t10k-images-idx3-ubyte", 200, 784); cut("t10k-labels-idx1-ubyte", 200, 1);
  const out = join(tmp, "ck");
  const json = execFileSync(process.execPath, [bin, "train", "vit", "--dataset", "mnist", "--data-dir", dir, "--epochs", "2", "--batch-size", "50",
    "--dim", "32", "--depth", "1", "--heads", "2", "--mlp", "64", "--patch", "7", "--out", out, "--json"], { encoding: "utf8" });
  const s = JSON.parse(json);
  assert.equal(s.model, "vit");
  assert.ok(s.test_accuracy > 0.2 && s.test_accuracy <= 1, `test accuracy ${s.test_accuracy}`);
  assert.equal(s.epochs, 2);
  const loaded = tasks.loadImageCheckpoint(out);
  assert.equal(loaded.spec.kind, "vit");
  assert.equal((loaded.spec.config as models.ViTConfig).hiddenSize, 32);
  // the checkpoint's accuracy is reproducible from the loaded weights
  const test10 = data.loadMnist("test", { dataDir: dir });
  assert.equal(tasks.evaluateImageClassifier(loaded.model, test10.images, test10.labels), s.test_accuracy);

  // predict: PNGs of the first test digits give the same classes as the tensors do
  const raw = data.loadMnist("test", { dataDir: dir, limit: 4, normalize: false });
  const files = [0, 1, 2, 3].map((i) => join(tmp, `digit${i}.png`));
  for (let i = 0; i < 4; i++) await data.savePng(files[i], raw.images.data.subarray(i * 784, (i + 1) * 784) as Float32Array, 1, 28, 28);
  const want = tasks.predictClasses(loaded.model, test10.images).subarray(0, 4);
  const pj = JSON.parse(execFileSync(process.execPath, [bin, "predict", "--model", out, "--json", "--top", "3", ...files], { encoding: "utf8" })) as
    { image: string; predictions: { label: string; probability: number }[] }[];
  assert.deepEqual(pj.map((p) => p.image), files);
  pj.forEach((p, i) => {
    assert.equal(p.predictions.length, 3);
    assert.equal(p.predictions[0].label, String(want[i]));
    assert.ok(p.predictions[0].probability >= p.predictions[1].probability && p.predictions[1].probability >= p.predictions[2].probability);
  });
  const text = execFileSync(process.execPath, [bin, "predict", "--model", out, files[0]], { encoding: "utf8" });
  assert.match(text, new RegExp(`^${files[0].replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\t${want[0]} \\d+\\.\\d%  \\d \\d+\\.\\d%  \\d \\d+\\.\\d%\\n$`));

  // bad input: a colour image, a corrupt file, a missing model
  const sharp = (await import("sharp")).default;
  const colour = join(tmp, "colour.png");
  writeFileSync(colour, await sharp(Buffer.alloc(10 * 12 * 3, 90), { raw: { width: 12, height: 10, channels: 3 } }).png().toBuffer());
  const c = spawnSync(process.execPath, [bin, "predict", "--model", out, colour], { encoding: "utf8" });
  assert.equal(c.status, 1);
  assert.match(c.stderr, /image .*colour\.png \(12x10\) has 3 channels \(RGB\), but the model takes 1 channel \(greyscale\)/);
  writeFileSync(join(tmp, "bad.jpg"), "garbage");
  assert.match(spawnSync(process.execPath, [bin, "predict", "--model", out, join(tmp, "bad.jpg")], { encoding: "utf8" }).stderr, /cannot decode image .*bad\.jpg/);
  assert.match(spawnSync(process.execPath, [bin, "predict", "--model", join(tmp, "none"), files[0]], { encoding: "utf8" }).stderr, /no checkpoint directory/);
  const badKind = spawnSync(process.execPath, [bin, "train", "vit", "--dataset", "cifar"], { encoding: "utf8" });
  assert.equal(badKind.status, 2);
  assert.match(badKind.stderr, /unknown dataset "cifar"/);
  const noFiles = spawnSync(process.execPath, [bin, "train", "vit", "--data-dir", join(tmp, "empty")], { encoding: "utf8" });
  assert.match(noFiles.stderr, /MNIST: train-images-idx3-ubyte\[\.gz\] not found in .*empty/);
});

test("a checkpoint whose config and weights disagree is an error naming both files and the shapes", () => {
  const dir = join(tmp, "mismatch");
  const spec: tasks.ImageModelSpec = { kind: "vit", config: tinyVit };
  tasks.saveImageCheckpoint(dir, new models.ViTForImageClassification(tinyVit), spec, tasks.MNIST_PREPROCESSING);
  assert.equal(tasks.loadImageCheckpoint(dir).spec.kind, "vit");
  const cfgPath = join(dir, "config.json");
  const cfg = JSON.parse(readFileSync(cfgPath, "utf8"));
  cfg.config.spec.config.intermediateSize = 48;
  writeFileSync(cfgPath, JSON.stringify(cfg));
  assert.throws(() => tasks.loadImageCheckpoint(dir),
    /the weights in .*mismatch\/weights\.bin do not fit the model in .*mismatch\/config\.json: vit\.encoder\.layer\.0\.intermediate\.dense\.weight is \[64, 32\] but the config needs \[48, 32\]/);
  cfg.config.spec.config.patchSize = 5;
  writeFileSync(cfgPath, JSON.stringify(cfg));
  assert.throws(() => tasks.loadImageCheckpoint(dir), /config\.json describes a model that cannot be built: ViT: image size 28 is not divisible by patch size 5/);
  cfg.config.spec.kind = "rnn";
  writeFileSync(cfgPath, JSON.stringify(cfg));
  assert.throws(() => tasks.loadImageCheckpoint(dir), /unknown model kind "rnn"/);
});
