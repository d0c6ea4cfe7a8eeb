// `tsformer predict --model DIR IMAGE...`: classify image files with a checkpoint saved by
// `tsformer train vit|hybrid|cnn` (top-k labels with probabilities; --json for machines).

import { parseArgs } from "node:util";
import { setBackend } from "../index.js";
import { loadImages } from "../data/images.js";
import { classProbabilities } from "../tasks/image-classification.js";
import { loadImageCheckpoint } from "../tasks/image-checkpoint.js";

export const PREDICT_HELP = `Usage: tsformer predict --model DIR [--top K] [--json] IMAGE...

Classify PNG or JPEG files with a checkpoint saved by
  tsformer train vit|hybrid|cnn --out DIR
Images are resized to the model's size and normalised with its mean and std.
  --top K        labels to show per image (default 3)
  --convert      convert colour images for a greyscale model (and back) instead of refusing them
  --invert       invert the grey levels first (dark digits on white paper, for a model trained on MNIST)
  --json         one JSON array: [{ image, predictions: [{ label, probability }] }]
  --backend js|native`;

export interface Prediction { image: string; predictions: { label: string; probability: number }[] }

/** Top-k labels of each image file. */
export async function predictImages(dir: string, images: string[], options: { top?: number; convert?: boolean; invert?: boolean } = {}): Promise<Prediction[]> {
  const { model, preprocessing: pre } = loadImageCheckpoint(dir);
  const pixels = await loadImages(images, { ...pre, convert: options.convert, invert: options.invert });
  const probs = classProbabilities(model, pixels); // [N, classes]
  const C = probs.shape[1], k = Math.min(options.top ?? 3, C);
  return images.map((image, i) => {
    const row = Array.from(probs.data.subarray(i * C, (i + 1) * C));
    const order = row.map((p, c) => [p, c] as const).sort((a, b) => b[0] - a[0]).slice(0, k);
    return { image, predictions: order.map(([p, c]) => ({ label: pre.labels[c] ?? String(c), probability: p })) };
  });
}

export async function predictCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      model: { type: "string" }, top: { type: "string" }, convert: { type: "boolean" }, invert: { type: "boolean" },
      json: { type: "boolean" }, backend: { type: "string" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(PREDICT_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  if (!values.model) {
    console.error(`tsformer predict: --model DIR is required\n\n${PREDICT_HELP}`);
    return 2;
  }
  if (positionals.length === 0) {
    console.error(`tsformer predict: give at least one image file\n\n${PREDICT_HELP}`);
    return 2;
  }
  const top = values.top === undefined ? 3 : Number(values.top);
  if (!Number.isInteger(top) || top < 1) throw new RangeError(`tsformer predict: --top must be an integer >= 1, got "${values.top}"`);
  const preds = await predictImages(values.model, positionals, { top, convert: values.convert, invert: values.invert });
  if (values.json) console.log(JSON.stringify(preds));
  else {
    for (const p of preds) {
      console.log(`${p.image}\t${p.predictions.map((q) => `${q.label} ${(100 * q.probability).toFixed(1)}%`).join("  ")}`);
    }
  }
  return 0;
}
