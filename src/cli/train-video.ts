// `tsformer train video --model vivit-2 ...`: train a video model on moving digits (clips drawn
// fresh each step from MNIST's training digits, tested on clips of its test digits), print the
// test accuracy, parameters, FLOPs and time per step, and save a checkpoint for `predict`.

import { parseArgs } from "node:util";
import { setBackend } from "../index.js";
import { loadCheckpoint } from "../io/checkpoint.js";
import { MOVING_DIGITS_LABELS, type MovingDigitsLabel } from "../data/moving-mnist.js";
import { saveVideoCheckpoint, trainVideoClassifier, VIDEO_MODELS, videoClassNames, type VideoModelName } from "../tasks/video-classification.js";

export const TRAIN_VIDEO_HELP = `Usage: tsformer train video --model NAME [options]

  --model NAME          ${VIDEO_MODELS.join(" | ")}
  --label NAME          digit-direction (40 classes, default) | speed-change | digit | direction
  --steps N             optimizer steps, each on fresh training clips (default 1500)
  --batch-size N        clips per step (default 32)
  --lr X                peak learning rate (warmup + cosine; default 1e-3)
  --hidden N            model width (default 64)
  --layers N            layers (default 3; ViViT-2: spatial layers)
  --test-clips N        test clips, from MNIST's test digits (default 2000)
  --from-vit DIR         start ViViT / TimeSformer from an image ViT checkpoint (Hugging Face
                        names; e.g. runs/vit-frames from examples/video-digits.ts)
  --seed N              random seed (default 0)
  --out DIR             save a checkpoint (for tsformer predict --model DIR clip.mp4)
  --json                print one JSON summary line
  --backend js|native`;

function int(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`tsformer train video: --${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

export async function trainVideoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" }, label: { type: "string", default: "digit-direction" }, steps: { type: "string" },
      "batch-size": { type: "string" }, lr: { type: "string" }, hidden: { type: "string" }, layers: { type: "string" },
      "test-clips": { type: "string" }, "from-vit": { type: "string" }, seed: { type: "string" }, out: { type: "string" }, json: { type: "boolean" },
      backend: { type: "string" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(TRAIN_VIDEO_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  const model = values.model as VideoModelName;
  if (!VIDEO_MODELS.includes(model)) {
    console.error(`tsformer train video: --model must be one of ${VIDEO_MODELS.join(", ")}, got ${model === undefined ? "nothing" : `"${model}"`}\n\n${TRAIN_VIDEO_HELP}`);
    return 2;
  }
  const label = values.label as MovingDigitsLabel;
  if (!(label in MOVING_DIGITS_LABELS)) {
    console.error(`tsformer train video: --label must be one of ${Object.keys(MOVING_DIGITS_LABELS).join(", ")}, got "${label}"`);
    return 2;
  }
  const lr = values.lr === undefined ? undefined : Number(values.lr);
  if (lr !== undefined && !(lr > 0)) throw new RangeError(`tsformer train video: --lr must be a positive number, got "${values.lr}"`);
  const log = values.json ? (): void => {} : (s: string): void => console.log(s);
  const r = trainVideoClassifier({
    model, label, lr, steps: int("steps", values.steps), batchSize: int("batch-size", values["batch-size"]),
    hiddenSize: int("hidden", values.hidden), numHiddenLayers: int("layers", values.layers), testClips: int("test-clips", values["test-clips"]),
    seed: int("seed", values.seed, 0), progress: !values.json,
    fromViT: values["from-vit"] === undefined ? undefined : loadCheckpoint(values["from-vit"]).stateDict,
    onLog: (s) => log(`step ${s.step}: loss ${s.loss.toFixed(4)}, train accuracy ${(100 * s.trainAccuracy).toFixed(1)}%, ${s.seconds.toFixed(0)} s`),
  });
  if (values.out) {
    saveVideoCheckpoint(values.out, r.model, r.spec, { name: model, label, classNames: videoClassNames(label), testAccuracy: r.testAccuracy });
    log(`checkpoint saved to ${values.out}`);
  }
  const summary = {
    model, label, test_accuracy: r.testAccuracy, parameters: r.parameters, forward_mflops_per_clip: r.flopsPerClip / 1e6,
    seconds_per_step: r.secondsPerStep, steps: r.steps, batch_size: r.batchSize, train_seconds: r.trainSeconds, backend: r.backend,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else {
    console.log(`${model} on ${label}: test accuracy ${(100 * r.testAccuracy).toFixed(2)}%, ${r.parameters} parameters, ` +
      `${(r.flopsPerClip / 1e6).toFixed(1)} MFLOPs per clip, ${(1000 * r.secondsPerStep).toFixed(0)} ms per step of ${r.batchSize} (${r.backend})`);
  }
  return 0;
}
