// The moving-digits table of docs/VIDEO.md: every video model on digit + direction (40 classes)
// and on speed change (2 classes), each started from one image ViT trained on single frames (as
// ViViT and TimeSformer start from ImageNet ViTs), the CNN + Transformer from scratch.
//
//   node dist/examples/video-digits.js [--models vivit-1,vivit-2,...] [--labels digit-direction,speed-change]
//        [--steps 4000] [--vit-steps 6000] [--vit runs/vit-frames] [--out runs/video-digits.jsonl]
//
// The frame ViT is trained once and saved to --vit (reused if it is there). One JSON line per
// run is appended to --out.

import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { io, tasks, backendName, type Tensor } from "../src/index.js";
import type { MovingDigitsLabel } from "../src/data/moving-mnist.js";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: tasks.VIDEO_MODELS.join(",") },
    labels: { type: "string", default: "digit-direction,speed-change" },
    steps: { type: "string", default: "4000" },
    "batch-size": { type: "string", default: "32" },
    lr: { type: "string", default: "1e-3" },
    "vit-steps": { type: "string", default: "6000" },
    vit: { type: "string", default: "runs/vit-frames" },
    "test-clips": { type: "string", default: "2000" },
    out: { type: "string", default: "runs/video-digits.jsonl" },
    table: { type: "boolean" },
  },
});

if (values.table) {
  // print the results file as the markdown table of docs/VIDEO.md and stop
  const { readFileSync } = await import("node:fs");
  const rows = readFileSync(values.out!, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number | string>);
  console.log("| model | label | test accuracy | parameters | forward MFLOPs / clip | ms / step (batch) | steps | load average (1, 5, 15 min) |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.label} | ${(100 * Number(r.test_accuracy)).toFixed(2)}% | ${Number(r.parameters).toLocaleString("en")} | ${Number(r.forward_mflops).toFixed(1)} | ${Number(r.ms_per_step).toFixed(0)} (${r.batch_size}) | ${r.steps} | ${r.load_average} |`);
  }
  process.exit(0);
}

function frameViT(): Record<string, Tensor> {
  const dir = values.vit!;
  if (existsSync(`${dir}/config.json`)) return io.loadCheckpoint(dir).stateDict;
  const r = tasks.pretrainFrameViT({
    steps: Number(values["vit-steps"]), batchSize: 64, lr: 2e-3,
    onLog: (s) => console.log(`frame ViT step ${s.step}: loss ${s.loss.toFixed(3)}, train accuracy ${(100 * s.trainAccuracy).toFixed(1)}%`),
  });
  console.log(`frame ViT: digit accuracy on test frames ${(100 * r.testAccuracy).toFixed(2)}%, ${r.parameters} parameters, ${(r.flopsPerImage / 1e6).toFixed(2)} MFLOPs per frame, ${(1000 * r.secondsPerStep).toFixed(0)} ms per step of 64`);
  io.saveCheckpoint(dir, { config: r.config, stateDict: r.model.stateDict(), meta: { testAccuracy: r.testAccuracy, steps: r.steps } });
  record({ model: "vit-frames (image)", label: "digit", test_accuracy: r.testAccuracy, parameters: r.parameters, forward_mflops: r.flopsPerImage / 1e6, ms_per_step: 1000 * r.secondsPerStep, steps: r.steps, batch_size: r.batchSize });
  return r.model.stateDict();
}

function record(row: Record<string, unknown>): void {
  mkdirSync(dirname(values.out!), { recursive: true });
  appendFileSync(values.out!, JSON.stringify({ ...row, backend: backendName(), load_average: loadavg().map((x) => x.toFixed(2)).join(" "), date: new Date().toISOString() }) + "\n");
}

const vit = frameViT();
for (const label of values.labels!.split(",") as MovingDigitsLabel[]) {
  for (const model of values.models!.split(",") as tasks.VideoModelName[]) {
    const r = tasks.trainVideoClassifier({
      model, label, steps: Number(values.steps), batchSize: Number(values["batch-size"]), lr: Number(values.lr),
      testClips: Number(values["test-clips"]), fromViT: model === "cnn-transformer" ? undefined : vit, logEvery: 100,
      onLog: (s) => console.log(`${model} ${label} step ${s.step}: loss ${s.loss.toFixed(3)}, train accuracy ${(100 * s.trainAccuracy).toFixed(1)}%, ${s.seconds.toFixed(0)} s`),
    });
    console.log(`${model} on ${label}: test accuracy ${(100 * r.testAccuracy).toFixed(2)}%`);
    record({ model, label, test_accuracy: r.testAccuracy, parameters: r.parameters, forward_mflops: r.flopsPerClip / 1e6, ms_per_step: 1000 * r.secondsPerStep, steps: r.steps, batch_size: r.batchSize, from_vit: model !== "cnn-transformer" });
  }
}
