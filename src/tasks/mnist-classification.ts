// MNIST digit classification with any image model: load the standard split (or a subset,
// or chosen digits), train with the shared image trainer, measure test accuracy, save.

import { loadMnist, MNIST_MEAN, MNIST_STD, type MnistData } from "../data/mnist.js";
import { Tensor } from "../tensor/tensor.js";
import { evaluateImageClassifier, type ImageClassifier, type ImageEpochStats, type ImageTrainOptions, trainImageClassifier } from "./image-classification.js";
import { buildImageClassifier, type ImageModelSpec, type ImagePreprocessing, saveImageCheckpoint } from "./image-checkpoint.js";

export const MNIST_PREPROCESSING: ImagePreprocessing = {
  imageSize: 28, numChannels: 1, mean: [MNIST_MEAN], std: [MNIST_STD], labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
};

/** The normalised value of a black pixel: what shifted-in pixels take. */
export const MNIST_BACKGROUND = (0 - MNIST_MEAN) / MNIST_STD;

/**
 * Keep the examples whose label is in `digits`, relabelled 0..k-1 in the order given, at most
 * `perClass` of each (the first ones in file order).
 */
export function selectDigits(d: MnistData, digits: number[], perClass = Infinity): MnistData {
  const map = new Map(digits.map((dg, i) => [dg, i]));
  const counts = new Array(digits.length).fill(0);
  const keep: number[] = [];
  for (let i = 0; i < d.labels.numel; i++) {
    const c = map.get(d.labels.data[i]);
    if (c === undefined || counts[c] >= perClass) continue;
    counts[c]++;
    keep.push(i);
  }
  const row = d.images.numel / d.images.shape[0];
  const imgs = new Float32Array(keep.length * row), lbls = new Int32Array(keep.length);
  keep.forEach((r, i) => {
    imgs.set(d.images.data.subarray(r * row, (r + 1) * row), i * row);
    lbls[i] = map.get(d.labels.data[r])!;
  });
  return { images: new Tensor(imgs, [keep.length, ...d.images.shape.slice(1)]), labels: new Tensor(lbls, [keep.length]) };
}

export interface MnistClassifierOptions extends Partial<Omit<ImageTrainOptions, "eval">> {
  spec: ImageModelSpec;
  dataDir?: string;
  trainLimit?: number;
  testLimit?: number;
  /** Evaluate on the test set after every epoch (costs time; default false: only at the end). */
  evalEachEpoch?: boolean;
  /** Save the trained model here. */
  out?: string;
  log?: (line: string) => void;
}

export interface MnistClassifierResult {
  model: ImageClassifier;
  testAccuracy: number;
  trainSeconds: number;
  cpuSeconds: number;
  parameters: number;
  epochs: ImageEpochStats[];
  stoppedEarly: boolean;
  out?: string;
}

export function trainMnistClassifier(o: MnistClassifierOptions): MnistClassifierResult {
  const log = o.log ?? (() => {});
  const trainSet = loadMnist("train", { dataDir: o.dataDir, limit: o.trainLimit });
  const testSet = loadMnist("test", { dataDir: o.dataDir, limit: o.testLimit });
  const model = buildImageClassifier(o.spec);
  const parameters = model.numParameters();
  log(`${o.spec.kind}: ${parameters} parameters, ${trainSet.labels.numel} training and ${testSet.labels.numel} test images`);
  const { spec: _s, dataDir: _d, trainLimit: _t, testLimit: _tt, evalEachEpoch, out, log: _l, ...trainOpts } = o;
  const r = trainImageClassifier(model, trainSet.images, trainSet.labels, {
    fill: MNIST_BACKGROUND,
    ...trainOpts,
    eval: evalEachEpoch ? testSet : undefined,
    onEpoch: (e) => {
      log(`epoch ${e.epoch}  loss ${e.loss.toFixed(4)}  train acc ${(100 * e.trainAccuracy).toFixed(2)}%` +
        (e.evalAccuracy !== undefined ? `  test acc ${(100 * e.evalAccuracy).toFixed(2)}%` : "") +
        `  ${e.seconds.toFixed(0)} s (cpu ${e.cpuSeconds.toFixed(0)} s)  ${e.imagesPerSecond.toFixed(0)} img/s`);
      o.onEpoch?.(e);
    },
  });
  const testAccuracy = evaluateImageClassifier(model, testSet.images, testSet.labels);
  if (out) {
    saveImageCheckpoint(out, model, o.spec, MNIST_PREPROCESSING, {
      dataset: "mnist", test_accuracy: testAccuracy, train_seconds: r.trainSeconds, cpu_seconds: r.cpuSeconds, epochs: r.epochs.length,
      train_images: trainSet.labels.numel,
    });
  }
  return { model, testAccuracy, trainSeconds: r.trainSeconds, cpuSeconds: r.cpuSeconds, parameters, epochs: r.epochs, stoppedEarly: r.stoppedEarly, out };
}
