// Train a small ViT on MNIST, then look inside it: a checkpoint for `tsformer attention` and
// `tsformer serve`, a few test digits as PNG files, and an HTML report of the run (curves,
// metrics, and each sample's rollout, gradient-weighted attention and last-layer heads).
//
//   npm run build && node dist/examples/explain-vit-mnist.js [--train-limit 10000] [--epochs 2] [--out runs/explain-vit-mnist]
//
// Then:
//   npx tsformer attention --model runs/explain-vit-mnist/model runs/explain-vit-mnist/digits/0-7.png --out runs/explain-vit-mnist/attention
//   npx tsformer serve --model runs/explain-vit-mnist/model

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { backendName, data as dataNs, F, manualSeed, models, noGrad, optim, train, type Tensor } from "../src/index.js";
import { encodePng, tensorToImage, writeFileAtomic, writeImageClassifierReport } from "../src/explain/index.js";
import { saveCheckpoint } from "../src/io/checkpoint.js";

export interface ExplainVitMnistOptions {
  trainLimit: number;
  testLimit: number;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  out: string;
  log?: (line: string) => void;
}

const defaults: ExplainVitMnistOptions = { trainLimit: 10000, testLimit: 2000, epochs: 2, batchSize: 64, lr: 1e-3, seed: 0, out: "runs/explain-vit-mnist" };

function evaluate(model: models.ViTForImageClassification, images: Tensor, labels: Tensor): { loss: number; accuracy: number } {
  model.eval();
  let correct = 0, loss = 0;
  noGrad(() => {
    for (const [x, y] of new dataNs.DataLoader([images, labels], { batchSize: 500 })) {
      const logits = model.forward(x).logits;
      correct += train.accuracy(logits, y) * y.shape[0];
      loss += F.crossEntropy(logits, y).item() * y.shape[0];
    }
  });
  model.train();
  return { loss: loss / labels.shape[0], accuracy: correct / labels.shape[0] };
}

export async function explainVitMnist(opts: Partial<ExplainVitMnistOptions> = {}): Promise<{ testAccuracy: number; trainSeconds: number; report: string }> {
  const o = { ...defaults, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as ExplainVitMnistOptions;
  const log = o.log ?? (() => {});
  manualSeed(o.seed);
  const trainSet = dataNs.loadMnist("train", { limit: o.trainLimit });
  const testSet = dataNs.loadMnist("test", { limit: o.testLimit });
  const config = models.vitPresets["vit-mnist"];
  const model = new models.ViTForImageClassification(config);
  const opt = new optim.AdamW(optim.weightDecayGroups(model, 0.05), { lr: o.lr });
  const loader = new dataNs.DataLoader([trainSet.images, trainSet.labels], { batchSize: o.batchSize, shuffle: true });
  const sched = new optim.LRScheduler(opt, optim.warmupCosineSchedule(100, o.epochs * loader.numBatches, 0.05));
  const history: Record<string, number[]> = { "train loss": [], "test loss": [], "test accuracy": [] };
  const t0 = performance.now();
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    let sum = 0, n = 0;
    for (const [x, y] of loader) {
      const loss = F.crossEntropy(model.forward(x).logits, y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      sched.step();
      sum += loss.item();
      n++;
    }
    const ev = evaluate(model, testSet.images, testSet.labels);
    history["train loss"].push(sum / n);
    history["test loss"].push(ev.loss);
    history["test accuracy"].push(ev.accuracy);
    log(`epoch ${epoch + 1}/${o.epochs}  train loss ${(sum / n).toFixed(4)}  test loss ${ev.loss.toFixed(4)}  test accuracy ${(100 * ev.accuracy).toFixed(2)}%`);
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  model.eval();
  const labels = "0123456789".split("");
  const norm = { mean: [dataNs.MNIST_MEAN], std: [dataNs.MNIST_STD] };
  saveCheckpoint(join(o.out, "model"), {
    config: { ...config, labels, imageMean: norm.mean, imageStd: norm.std },
    stateDict: model.stateDict(),
    meta: { testAccuracy: history["test accuracy"].at(-1), trainLimit: o.trainLimit, epochs: o.epochs },
  });
  // the first test digit of each class, as PNG files for the CLI and the explorer
  const samples: { input: Tensor; label: number }[] = [];
  for (let d = 0; d < 10; d++) {
    const i = Array.from(testSet.labels.data).indexOf(d);
    if (i < 0) continue;
    const input = testSet.images.narrow(0, i, 1);
    samples.push({ input, label: d });
    writeFileAtomic(join(o.out, "digits", `${i}-${d}.png`), await encodePng(tensorToImage(input, { mean: norm.mean, std: norm.std })));
  }
  const testAccuracy = history["test accuracy"].at(-1) ?? NaN;
  const r = await writeImageClassifierReport(join(o.out, "report"), {
    title: "ViT (vit-mnist) on MNIST",
    summary: `node dist/examples/explain-vit-mnist.js --train-limit ${o.trainLimit} --epochs ${o.epochs}: ${o.trainLimit} training images, ${o.testLimit} test images, ${backendName()} backend, ${trainSeconds.toFixed(0)} s of training.`,
    config: { preset: "vit-mnist", ...config, ...o, log: undefined },
    metrics: { "test accuracy": testAccuracy, "test loss": history["test loss"].at(-1) ?? NaN, "train seconds": trainSeconds },
    history, model, samples: samples.slice(0, 4), labels, ...norm,
  });
  return { testAccuracy, trainSeconds, report: r.index };
}

function parse(argv: string[]): Partial<ExplainVitMnistOptions> {
  const out: Partial<ExplainVitMnistOptions> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case "--train-limit": out.trainLimit = Number(v); break;
      case "--test-limit": out.testLimit = Number(v); break;
      case "--epochs": out.epochs = Number(v); break;
      case "--batch-size": out.batchSize = Number(v); break;
      case "--lr": out.lr = Number(v); break;
      case "--seed": out.seed = Number(v); break;
      case "--out": out.out = v; break;
      default: throw new Error(`explain-vit-mnist: unknown option ${argv[i]}`);
    }
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await explainVitMnist({ ...parse(process.argv.slice(2)), log: console.log });
  console.log(`test accuracy ${(100 * r.testAccuracy).toFixed(2)}% on ${backendName()} after ${r.trainSeconds.toFixed(1)} s of training; report: ${r.report}`);
}
