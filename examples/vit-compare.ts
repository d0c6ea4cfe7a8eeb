// The comparison of docs/VIT.md, on real digits:
//  1. ViT, hybrid ViT and the CNN baseline trained from scratch on 600, 6,000 and 60,000 MNIST
//     training images (test accuracy on the standard 10,000, parameters, training time). The ViT
//     paper's claim (section 4.2, Fig. 3-4): CNNs win on small data, Transformers catch up as it grows.
//  2. Transfer: pretrain on digits 0-4, then fine-tune on digits 5-9 with 50 labelled images per
//     class, against the same model trained from scratch on those 250 images (test: digits 5-9).
//
//   npm run build && nice -n 5 node dist/examples/vit-compare.js [--models vit,hybrid,cnn]
//       [--sizes 600,6000,60000] [--budget 60000] [--pretrain-epochs 2] [--finetune-epochs 40]
//       [--max-seconds S] [--skip-table] [--skip-transfer] [--out runs/vit-compare]
//
// The budget is the number of training images each run sees (epochs = budget / size, at least
// 1 and at most 60): the same compute for every size, modest enough for a shared 2-core machine.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { backendName, data as dataNs, tasks } from "../src/index.js";

type Kind = tasks.ImageModelKind;

export interface CompareOptions {
  models: Kind[];
  sizes: number[];
  budget: number;
  pretrainEpochs: number;
  finetuneEpochs: number;
  perClass: number;
  /** Pretrain on at most this many images of digits 0-4 (default: all, about 30,600). */
  pretrainLimit?: number;
  seed: number;
  /** Cap on each run's training seconds (the schedule still plans all epochs); for a shared machine. */
  maxSeconds?: number;
  out: string;
  skipTable?: boolean;
  skipTransfer?: boolean;
  log: (line: string) => void;
}

export const defaultCompareOptions: CompareOptions = {
  models: ["vit", "hybrid", "cnn"], sizes: [600, 6000, 60000], budget: 60000, pretrainEpochs: 2, finetuneEpochs: 40,
  perClass: 50, seed: 0, out: "runs/vit-compare", log: console.log,
};

export interface TableRow { model: Kind; trainImages: number; epochs: number; stoppedEarly: boolean; imagesSeen: number; testAccuracy: number; parameters: number; trainSeconds: number; cpuSeconds: number }
export interface TransferRow { model: Kind; pretrainAccuracy: number; finetunedAccuracy: number; scratchAccuracy: number; pretrainSeconds: number; finetuneSeconds: number }

const epochsFor = (budget: number, n: number): number => Math.max(1, Math.min(60, Math.round(budget / n)));

export function runComparison(opts: Partial<CompareOptions> = {}): { table: TableRow[]; transfer: TransferRow[] } {
  const o: CompareOptions = { ...defaultCompareOptions, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
  const log = o.log;
  const trainAll = dataNs.loadMnist("train"), testAll = dataNs.loadMnist("test");
  const table: TableRow[] = [];
  const transfer: TransferRow[] = [];
  mkdirSync(o.out, { recursive: true });
  const save = () => writeFileSync(join(o.out, "results.json"), JSON.stringify({ backend: backendName(), options: { ...o, log: undefined }, table, transfer }, null, 2));

  if (!o.skipTable) {
    for (const n of o.sizes) {
      // the first n training images, as a class-balanced prefix is what a labelling budget buys
      const sub = dataNs.takeRows(trainAll.images, Int32Array.from({ length: n }, (_, i) => i));
      const lbl = dataNs.takeRows(trainAll.labels, Int32Array.from({ length: n }, (_, i) => i));
      for (const kind of o.models) {
        const spec = tasks.mnistModelSpec(kind);
        const model = tasks.buildImageClassifier(spec);
        const epochs = epochsFor(o.budget, n);
        const r = tasks.trainImageClassifier(model, sub, lbl, {
          epochs, seed: o.seed, fill: tasks.MNIST_BACKGROUND, maxSeconds: o.maxSeconds, warmupSteps: Math.min(300, Math.ceil(n / 128) * epochs / 10),
        });
        const acc = tasks.evaluateImageClassifier(model, testAll.images, testAll.labels);
        const imagesSeen = Math.round(r.epochs[r.epochs.length - 1].imagesPerSecond * r.trainSeconds);
        const row = { model: kind, trainImages: n, epochs, stoppedEarly: r.stoppedEarly, imagesSeen, testAccuracy: acc, parameters: model.numParameters(), trainSeconds: r.trainSeconds, cpuSeconds: r.cpuSeconds };
        table.push(row);
        log(`${kind.padEnd(6)} ${String(n).padStart(6)} images x ${epochs} epochs: test ${(100 * acc).toFixed(2)}%  ${r.trainSeconds.toFixed(0)} s (cpu ${r.cpuSeconds.toFixed(0)} s)`);
        save();
      }
    }
  }

  if (!o.skipTransfer) {
    const low = [0, 1, 2, 3, 4], high = [5, 6, 7, 8, 9];
    const pre = tasks.selectDigits(trainAll, low, o.pretrainLimit === undefined ? Infinity : Math.ceil(o.pretrainLimit / 5));
    const preTest = tasks.selectDigits(testAll, low);
    const few = tasks.selectDigits(trainAll, high, o.perClass);
    const highTest = tasks.selectDigits(testAll, high);
    const fewOpts = { maxSeconds: o.maxSeconds, epochs: o.finetuneEpochs, seed: o.seed, fill: tasks.MNIST_BACKGROUND, batchSize: 50, warmupSteps: 20, lr: 5e-4 };
    for (const kind of o.models) {
      const spec0 = tasks.mnistModelSpec(kind);
      const spec = { ...spec0, config: { ...spec0.config, numLabels: 5 } } as tasks.ImageModelSpec;
      const model = tasks.buildImageClassifier(spec);
      const p = tasks.trainImageClassifier(model, pre.images, pre.labels, { epochs: o.pretrainEpochs, seed: o.seed, fill: tasks.MNIST_BACKGROUND, maxSeconds: o.maxSeconds });
      const preAcc = tasks.evaluateImageClassifier(model, preTest.images, preTest.labels);
      tasks.replaceHead(model, spec, 5);
      const f = tasks.trainImageClassifier(model, few.images, few.labels, fewOpts);
      const ftAcc = tasks.evaluateImageClassifier(model, highTest.images, highTest.labels);
      const scratch = tasks.buildImageClassifier(spec);
      tasks.trainImageClassifier(scratch, few.images, few.labels, fewOpts);
      const scAcc = tasks.evaluateImageClassifier(scratch, highTest.images, highTest.labels);
      transfer.push({ model: kind, pretrainAccuracy: preAcc, finetunedAccuracy: ftAcc, scratchAccuracy: scAcc, pretrainSeconds: p.trainSeconds, finetuneSeconds: f.trainSeconds });
      log(`${kind}: pretrained on 0-4 (${(100 * preAcc).toFixed(2)}% on 0-4), fine-tuned on ${few.labels.numel} images of 5-9: ` +
        `${(100 * ftAcc).toFixed(2)}%; from scratch on the same images: ${(100 * scAcc).toFixed(2)}%`);
      save();
    }
  }
  return { table, transfer };
}

export function markdownTables(r: { table: TableRow[]; transfer: TransferRow[] }): string {
  const lines: string[] = [];
  if (r.table.length) {
    lines.push("| model | training images | epochs planned | images seen | test accuracy | parameters | training time (s) | CPU time (s) |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const t of r.table) {
      lines.push(`| ${t.model} | ${t.trainImages} | ${t.epochs} | ${t.imagesSeen}${t.stoppedEarly ? " (capped)" : ""} | ${(100 * t.testAccuracy).toFixed(2)}% | ${t.parameters.toLocaleString("en")} | ${t.trainSeconds.toFixed(0)} | ${t.cpuSeconds.toFixed(0)} |`);
    }
  }
  if (r.transfer.length) {
    lines.push("", "| model | pretrained on 0-4 (test 0-4) | fine-tuned, 50/class of 5-9 (test 5-9) | from scratch, same 250 images (test 5-9) |", "| --- | ---: | ---: | ---: |");
    for (const t of r.transfer) {
      lines.push(`| ${t.model} | ${(100 * t.pretrainAccuracy).toFixed(2)}% | ${(100 * t.finetunedAccuracy).toFixed(2)}% | ${(100 * t.scratchAccuracy).toFixed(2)}% |`);
    }
  }
  return lines.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const a = process.argv.slice(2);
  const opts: Partial<CompareOptions> = {};
  for (let i = 0; i < a.length; i++) {
    const k = a[i], v = a[i + 1];
    switch (k) {
      case "--models": opts.models = v.split(",") as Kind[]; i++; break;
      case "--sizes": opts.sizes = v.split(",").map(Number); i++; break;
      case "--budget": opts.budget = Number(v); i++; break;
      case "--pretrain-epochs": opts.pretrainEpochs = Number(v); i++; break;
      case "--finetune-epochs": opts.finetuneEpochs = Number(v); i++; break;
      case "--per-class": opts.perClass = Number(v); i++; break;
      case "--pretrain-limit": opts.pretrainLimit = Number(v); i++; break;
      case "--max-seconds": opts.maxSeconds = Number(v); i++; break;
      case "--seed": opts.seed = Number(v); i++; break;
      case "--out": opts.out = v; i++; break;
      case "--skip-table": opts.skipTable = true; break;
      case "--skip-transfer": opts.skipTransfer = true; break;
      default: throw new Error(`vit-compare: unknown option ${k}`);
    }
  }
  const r = runComparison(opts);
  const md = markdownTables(r);
  writeFileSync(join(opts.out ?? defaultCompareOptions.out, "results.md"), md + "\n");
  console.log(md);
}
