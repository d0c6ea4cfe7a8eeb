// Chapter 11: attention heat maps. Train a small ViT on digits, then ask where its [CLS] token
// looks: one layer's attention to the patches, and attention rollout (Abnar & Zuidema 2020:
// the layers' attention, with the residual path, multiplied through), drawn over the digit.
// The check: a trained model's rollout puts more of its weight on the patches with ink than
// their share of the image.
//
//   node dist/examples/guide/11-heat-maps.js [--small] [--out docs/guide/img]

import { data, explain, manualSeed, models, tasks, type Tensor } from "../../src/index.js";
import { cliOptions, type GuideOptions, isMain, resolve, savePng, saveSvg } from "./common.js";

export interface HeatMapResult {
  testAccuracy: number;
  /** Per explained digit: rollout weight on patches with ink / their share of the patches (> 1: it looks at the digit). */
  inkRatios: number[];
  lossCurve: number[];
  pictures: string[];
}

/** Which patches of a [1, 1, 28, 28] image (raw pixels in [0, 1]) hold ink: a grid of 0/1. */
export function inkPatches(raw: Tensor, patch: number): Float32Array {
  const g = 28 / patch, out = new Float32Array(g * g), d = raw.data as Float32Array;
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) if (d[y * 28 + x] > 0.3) out[Math.floor(y / patch) * g + Math.floor(x / patch)] = 1;
  return out;
}

export async function run(options: GuideOptions = {}): Promise<HeatMapResult> {
  const { setting, out, log } = resolve(options);
  const full = setting === "full";
  const nTrain = full ? 20000 : 3000, epochs = full ? 4 : 3;
  const trainSet = data.loadMnist("train", { limit: nTrain }), testSet = data.loadMnist("test", { limit: 1000 });
  const raw = data.loadMnist("test", { limit: 4, normalize: false }).images; // the digits to explain, as pixels
  manualSeed(0);
  const config: models.ViTConfig = {
    ...models.vitPresets["vit-mnist"], patchSize: full ? 4 : 7, hiddenSize: full ? 64 : 32, numHiddenLayers: full ? 4 : 2,
    numAttentionHeads: full ? 4 : 2, intermediateSize: full ? 128 : 64,
  };
  const vit = new models.ViTForImageClassification(config);
  const r = tasks.trainImageClassifier(vit, trainSet.images, trainSet.labels, {
    epochs, batchSize: 64, lr: 2e-3, warmupSteps: 20, shift: 0, fill: tasks.MNIST_BACKGROUND, seed: 0,
  });
  const testAccuracy = tasks.evaluateImageClassifier(vit, testSet.images, testSet.labels);
  const lossCurve = r.epochs.map((e) => e.loss);
  log(`ViT ${config.patchSize}x${config.patchSize} patches, ${vit.numParameters()} parameters, ${nTrain} images x ${epochs} epochs: test accuracy ${(100 * testAccuracy).toFixed(1)}%`);

  const g = 28 / config.patchSize, P = config.patchSize;
  const inkRatios: number[] = [];
  const pictures: string[] = [];
  const tiles: explain.RGBImage[] = [];
  for (let i = 0; i < raw.shape[0]; i++) {
    const pixels = raw.narrow(0, i, 1); // [1, 1, 28, 28] in [0, 1]
    const x = pixels.sub(data.MNIST_MEAN).div(data.MNIST_STD); // what the model was trained on
    const image = explain.resizeNearest(explain.tensorToImage(pixels), 168, 168);
    const e = await explain.explainImage(vit, x, image, { size: 168, gradient: false });
    const ink = inkPatches(pixels, P);
    const total = e.rollout.data.reduce((a, b) => a + b, 0);
    let onInk = 0;
    for (let k = 0; k < g * g; k++) onInk += ink[k] * e.rollout.data[k];
    const share = ink.reduce((a, b) => a + b, 0) / (g * g);
    inkRatios.push(onInk / total / share);
    log(`digit ${i}: predicted ${e.predicted}; rollout weight on ink patches ${(100 * onInk / total).toFixed(0)}% (they are ${(100 * share).toFixed(0)}% of the patches)`);
    const last = e.layers[e.layers.length - 1].mean;
    tiles.push(image, explain.overlayHeatmap(image, last), explain.overlayHeatmap(image, e.rollout));
  }
  pictures.push(...[
    await savePng(out, "11-heat-maps.png", explain.tileImages(tiles, { cols: 3, pad: 4 })),
    saveSvg(out, "11-loss.svg", explain.lineChartSvg([{ name: "training loss", y: lossCurve }], { title: "ViT on digits", xLabel: "epoch", yLabel: "loss" })),
  ].filter((p): p is string => p !== null));
  return { testAccuracy, inkRatios, lossCurve, pictures };
}

if (isMain(import.meta.url)) await run(cliOptions());
