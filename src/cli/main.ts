// The command-line tool: `tsformer <command> [options]`. Argument parsing is Node's own
// util.parseArgs (no dependency); each command lives in its own function below.

import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { availableBackends, backendName, setBackend } from "../index.js";
import { exportCommand } from "./export.js";
import { attentionCommand } from "./attention.js";
import { g2pCommand } from "./g2p.js";
import { serveCommand } from "./serve.js";
import { trainSeq2SeqCommand } from "./train-seq2seq.js";
import { predictCommand } from "./predict.js";
import { trainVitCommand } from "./train-vit.js";
import { trainVideoCommand } from "./train-video.js";
import { isVideoFile, predictVideoCommand } from "./predict-video.js";
import { trainGptCommand } from "./train-gpt.js";
import { generateCommand } from "./generate.js";
import { trainBertCommand } from "./train-bert.js";
import { trainT5Command } from "./train-t5.js";
import { averageCommand } from "./average.js";

const GUIDE = "docs/ (README.md, docs/ARCHITECTURE.md)";

const HELP = `tsformer — build, train, run and look inside Transformers in TypeScript

Usage: tsformer <command> [options]

Commands:
  info                     backend, threads and versions on this machine
  train mlp                train an MLP on MNIST (--epochs N --train-limit N --hidden 512,256 --json)
                           (--checkpoint-dir DIR --save-every N: crash-safe checkpoints; --resume DIR)
  train seq2seq            Transformer or GRU+attention on copy/reverse or CMUdict G2P
                           (--task copy|g2p --model transformer|gru --epochs N --out DIR --json)
  train vit|hybrid|cnn     ViT, hybrid ViT or ResNet on MNIST (--dataset mnist --data-dir DIR --epochs N --out DIR --json)
  train video              ViViT 1-4, TimeSformer or CNN+Transformer on moving digits
                           (--model vivit-2 --label digit-direction --steps N --out DIR --json)
  g2p --model DIR WORD...  pronounce words with a trained G2P checkpoint
  predict --model DIR IMAGE...  top-k labels of PNG/JPEG files with a trained image checkpoint
  predict --model DIR CLIP...   classify video files (mp4, webm, avi, gif) with a train video checkpoint
  train gpt                GPT-2-style language model on a book (Moby Dick), bits/char, samples
  generate --model DIR --prompt TEXT   continue a prompt with a trained GPT
  train bert               BERT: masked-LM pretraining, then spam classification vs from scratch
  train t5                 T5-style model on two prefixed tasks at once (g2p: and reverse:)
  bench [name] [--json]    run the benchmarks (see docs/PERFORMANCE.md)
  average --out DIR CKPT...  average the weights of checkpoints of one run (e.g. its last epochs)
  export onnx --model DIR --out FILE   a Hugging Face layout directory to ONNX (see docs/CHECKPOINTS.md)
  attention --model DIR INPUT --out DIR
                           attention pictures (heat maps, rollout, matrices) for one input
  serve --model DIR        the attention explorer in the browser (http://127.0.0.1:8080)
  help                     this text

Global options:
  --backend js|native      choose the compute backend (also TSFORMER_BACKEND)
  -h, --help               show help

Guide: docs/guide/ — attention, Transformers, ViT and video step by step, as runnable, tested examples
Learn more: ${GUIDE}`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    console.log(HELP);
    return 0;
  }
  if (command === "--version" || command === "-v") {
    console.log(version());
    return 0;
  }
  switch (command) {
    case "info":
      return info(rest);
    case "train":
      return trainCommand(rest);
    case "bench":
      return benchCommand(rest);
    case "average":
      return averageCommand(rest);
    case "g2p":
      return g2pCommand(rest);
    case "export":
      return exportCommand(rest);
    case "predict":
      // clips (.mp4, .webm, .avi, .gif, ...) go to the video models, images to the image models
      return rest.some(isVideoFile) ? predictVideoCommand(rest) : predictCommand(rest);
    case "attention":
      return attentionCommand(rest);
    case "serve":
      return serveCommand(rest);
    case "generate":
      return generateCommand(rest);
    default:
      console.error(`tsformer: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

function applyBackend(name: string | undefined): void {
  if (name) setBackend(name);
}

function info(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { backend: { type: "string" }, json: { type: "boolean" } } });
  applyBackend(values.backend);
  const report = {
    version: version(),
    backend: backendName(),
    available: availableBackends(),
    node: process.version,
    cores: availableParallelism(),
    threads: Number(process.env.TSFORMER_NUM_THREADS ?? availableParallelism()),
    // bin/tsformer.js restarts node with --single-threaded-gc (docs/PERFORMANCE.md)
    gc: process.execArgv.includes("--single-threaded-gc") ? "single-threaded" : "concurrent",
  };
  if (values.json) console.log(JSON.stringify(report));
  else for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(10)} ${Array.isArray(v) ? v.join(", ") : v}`);
  return 0;
}

async function trainCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === "seq2seq") return trainSeq2SeqCommand(rest);
  if (what === "vit" || what === "hybrid" || what === "cnn") return trainVitCommand(what, rest);
  if (what === "video") return trainVideoCommand(rest);
  if (what === "gpt") return trainGptCommand(rest);
  if (what === "bert") return trainBertCommand(rest);
  if (what === "t5") return trainT5Command(rest);
  const { values } = parseArgs({
    args: rest,
    options: {
      backend: { type: "string" },
      epochs: { type: "string" },
      "train-limit": { type: "string" },
      "test-limit": { type: "string" },
      hidden: { type: "string" },
      "batch-size": { type: "string" },
      lr: { type: "string" },
      seed: { type: "string" },
      json: { type: "boolean" },
      "checkpoint-dir": { type: "string" },
      "save-every": { type: "string" },
      resume: { type: "string" },
    },
  });
  applyBackend(values.backend);
  if (what !== "mlp") {
    console.error(`tsformer train: unknown model "${what ?? ""}" (available: mlp, seq2seq, vit, hybrid, cnn)`);
    return 2;
  }
  const { trainMnistMlp } = await import("../../examples/mnist-mlp.js");
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const r = trainMnistMlp({
    epochs: num(values.epochs),
    trainLimit: num(values["train-limit"]),
    testLimit: num(values["test-limit"]),
    hidden: values.hidden?.split(",").map(Number),
    batchSize: num(values["batch-size"]),
    lr: num(values.lr),
    seed: num(values.seed),
    checkpointDir: values.resume ?? values["checkpoint-dir"],
    saveEvery: num(values["save-every"]),
    resume: values.resume !== undefined,
    log: values.json ? undefined : console.log,
  } as Parameters<typeof trainMnistMlp>[0]);
  if (values.json) console.log(JSON.stringify({ test_accuracy: r.testAccuracy, train_seconds: r.trainSeconds, backend: r.backend, losses: r.losses }));
  else console.log(`test accuracy ${(100 * r.testAccuracy).toFixed(2)}% (${r.backend}, ${r.trainSeconds.toFixed(1)} s)`);
  return 0;
}

async function benchCommand(argv: string[]): Promise<number> {
  const { runBench } = await import("../../bench/run.js");
  return runBench(argv);
}
