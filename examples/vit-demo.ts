// `npm start`: the Vision Transformer demo, end to end. Trains the vit-mnist model (patch 4,
// dim 64, depth 4) from scratch on MNIST for a few minutes, prints its test accuracy, saves the
// checkpoint and writes a report (report.json + report.md, with a confusion matrix and a few
// test digits as PNG files beside their predictions) under runs/vit-demo/, and the HTML report
// with the training curves and what the model looks at (attention rollout, gradient-weighted
// attention, the last layer's heads) for three test digits in runs/vit-demo/report/index.html.
//
//   npm start                       # = npm run build && node dist/examples/vit-demo.js
//   node dist/examples/vit-demo.js [--epochs 3] [--train-limit N] [--out runs/vit-demo]
//
// Then: npx tsformer predict --model runs/vit-demo runs/vit-demo/digit-0.png

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { backendName, data as dataNs, explain, tasks } from "../src/index.js";

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export async function vitDemo(o: { epochs?: number; trainLimit?: number; out?: string; log?: (l: string) => void } = {}) {
  const out = o.out ?? "runs/vit-demo", epochs = o.epochs ?? 3;
  const log = o.log ?? console.log;
  mkdirSync(out, { recursive: true });
  log(`Training a Vision Transformer (vit-mnist) on MNIST digits for ${epochs} epochs on the ${backendName()} backend...`);
  const r = tasks.trainMnistClassifier({
    spec: tasks.mnistModelSpec("vit"), epochs, trainLimit: o.trainLimit, out, progress: true, log,
  });
  const testSet = dataNs.loadMnist("test");
  const raw = dataNs.loadMnist("test", { normalize: false, limit: 10 });
  const pred = tasks.predictClasses(r.model, testSet.images);
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  for (let i = 0; i < pred.length; i++) confusion[testSet.labels.data[i]][pred[i]]++;
  const samples = [];
  for (let i = 0; i < 10; i++) {
    const file = `digit-${i}.png`;
    await dataNs.savePng(join(out, file), raw.images.data.subarray(i * 784, (i + 1) * 784) as Float32Array, 1, 28, 28);
    samples.push({ file, label: testSet.labels.data[i], predicted: pred[i] });
  }
  const report = {
    model: "vit-mnist", parameters: r.parameters, backend: backendName(), epochs: r.epochs, test_accuracy: r.testAccuracy,
    train_seconds: r.trainSeconds, cpu_seconds: r.cpuSeconds, checkpoint: out, confusion, samples,
  };
  writeAtomic(join(out, "report.json"), JSON.stringify(report, null, 2));
  const md = [
    "# Vision Transformer on MNIST", "",
    `vit-mnist (${r.parameters.toLocaleString("en")} parameters), ${r.epochs.length} epochs on ${(o.trainLimit ?? 60000).toLocaleString("en")} digits, ${backendName()} backend: ` +
      `**${(100 * r.testAccuracy).toFixed(2)}%** on the 10,000 test digits after ${r.trainSeconds.toFixed(0)} s of training.`, "",
    "| epoch | loss | train accuracy | seconds |", "| ---: | ---: | ---: | ---: |",
    ...r.epochs.map((e) => `| ${e.epoch} | ${e.loss.toFixed(4)} | ${(100 * e.trainAccuracy).toFixed(2)}% | ${e.seconds.toFixed(0)} |`), "",
    "## Confusion matrix (rows: true digit, columns: predicted)", "",
    `| | ${[...Array(10).keys()].join(" | ")} |`, `| --- |${" ---: |".repeat(10)}`,
    ...confusion.map((row, d) => `| **${d}** | ${row.join(" | ")} |`), "",
    "## Test digits", "",
    ...samples.map((s) => `![${s.label}](${s.file}) true ${s.label}, predicted ${s.predicted}${s.label === s.predicted ? "" : " (wrong)"}  `), "",
    `Classify your own: \`npx tsformer predict --model ${out} IMAGE.png\``, "",
  ].join("\n");
  writeAtomic(join(out, "report.md"), md);
  const html = await explain.writeImageClassifierReport(join(out, "report"), {
    title: "Vision Transformer on MNIST",
    summary: `vit-mnist, ${r.epochs.length} epochs, ${backendName()} backend: ${(100 * r.testAccuracy).toFixed(2)}% on the 10,000 test digits.`,
    config: { model: "vit-mnist", epochs: r.epochs.length, trainImages: o.trainLimit ?? 60000 },
    metrics: { "test accuracy": r.testAccuracy, parameters: r.parameters, "training seconds": Math.round(r.trainSeconds) },
    history: { "train loss": r.epochs.map((e) => e.loss), "train accuracy": r.epochs.map((e) => e.trainAccuracy) },
    model: r.model,
    samples: [0, 1, 2].map((i) => ({ input: testSet.images.narrow(0, i, 1), label: testSet.labels.data[i] })),
    labels: [..."0123456789"],
    mean: [dataNs.MNIST_MEAN], std: [dataNs.MNIST_STD],
  });
  log(`test accuracy ${(100 * r.testAccuracy).toFixed(2)}% after ${r.trainSeconds.toFixed(0)} s; report in ${join(out, "report.md")} and ${html.index}`);
  return { ...report, html: html.index };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const a = process.argv.slice(2);
  const o: { epochs?: number; trainLimit?: number; out?: string } = {};
  for (let i = 0; i < a.length; i += 2) {
    if (a[i] === "--epochs") o.epochs = Number(a[i + 1]);
    else if (a[i] === "--train-limit") o.trainLimit = Number(a[i + 1]);
    else if (a[i] === "--out") o.out = a[i + 1];
    else throw new Error(`vit-demo: unknown option ${a[i]}`);
  }
  await vitDemo(o);
}
