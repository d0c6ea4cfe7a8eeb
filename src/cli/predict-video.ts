// `tsformer predict --model DIR clip.mp4 ...`: classify video files (MP4, WebM, AVI, GIF, or
// anything ffmpeg decodes) with a checkpoint from `tsformer train video`. Each file is decoded
// by the packaged ffmpeg, resized to the model's frame size, and sampled uniformly to the
// model's frame count.

import { parseArgs } from "node:util";
import { setBackend } from "../index.js";
import { loadVideoClip } from "../data/video.js";
import { softmax } from "../ops/functional.js";
import { noGrad } from "../tensor/tensor.js";
import { loadVideoCheckpoint, videoInputNeeds } from "../tasks/video-classification.js";

export const VIDEO_EXTENSIONS = ["mp4", "webm", "avi", "gif", "mov", "mkv", "m4v", "mpg", "mpeg", "ogv"];

/** Whether `predict` should treat a path as a video (by extension). */
export function isVideoFile(path: string): boolean {
  return VIDEO_EXTENSIONS.includes(path.split(".").pop()?.toLowerCase() ?? "");
}

export const PREDICT_VIDEO_HELP = `Usage: tsformer predict --model DIR CLIP... [--top K] [--json]

  --model DIR   a checkpoint from tsformer train video --out DIR
  --top K       classes to print per clip (default 3)
  --json        one JSON line per clip
  --backend js|native`;

export interface VideoPrediction {
  file: string;
  top: { label: number; name: string; probability: number }[];
}

/** Top-k classes of each file under a video checkpoint. */
export function predictVideos(modelDir: string, files: string[], topK = 3): VideoPrediction[] {
  const { model, spec, meta } = loadVideoCheckpoint(modelDir);
  const need = videoInputNeeds(spec);
  return files.map((file) => {
    const clip = loadVideoClip(file, { numFrames: need.numFrames, imageSize: need.imageSize, numChannels: need.numChannels, tubeletDepth: need.tubeletDepth, patchSize: need.patchSize });
    const p = noGrad(() => softmax(model.forward(clip).logits, -1)).data;
    const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]).slice(0, topK);
    return { file, top: order.map((k) => ({ label: k, name: meta.classNames[k] ?? String(k), probability: p[k] })) };
  });
}

export async function predictVideoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { model: { type: "string" }, top: { type: "string" }, json: { type: "boolean" }, backend: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(PREDICT_VIDEO_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  if (!values.model || positionals.length === 0) {
    console.error(`tsformer predict: needs --model DIR and at least one clip\n\n${PREDICT_VIDEO_HELP}`);
    return 2;
  }
  const top = values.top === undefined ? 3 : Number(values.top);
  if (!Number.isInteger(top) || top < 1) throw new RangeError(`tsformer predict: --top must be a positive integer, got "${values.top}"`);
  for (const r of predictVideos(values.model, positionals, top)) {
    if (values.json) console.log(JSON.stringify(r));
    else console.log(`${r.file}: ${r.top.map((t) => `${t.name} ${(100 * t.probability).toFixed(1)}%`).join(", ")}`);
  }
  return 0;
}
