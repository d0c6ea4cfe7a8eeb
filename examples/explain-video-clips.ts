// Look inside a video classifier trained by `tsformer train video`: write a few moving-digit test
// clips as MP4 files (for `tsformer attention` and the explorer), and measure where the [CLS]
// token's attention rollout goes over time, averaged over test clips (its share per frame).
//
//   npm run build
//   nice -n 10 npx tsformer train video --model vivit-1 --label direction --steps 1000 --batch-size 32 --hidden 32 --layers 2 --test-clips 500 --out runs/vivit1-dir
//   node dist/examples/explain-video-clips.js --model runs/vivit1-dir [--clips 50]
//   npx tsformer attention --model runs/vivit1-dir runs/vivit1-dir/clip0.mp4 --out runs/vivit1-dir/attention-0

import { join } from "node:path";
import { parseArgs } from "node:util";
import { data, Tensor } from "../src/index.js";
import { explainVideoClip, loadVideoExplainable } from "../src/cli/explain-video.js";
import { selectFrames } from "../src/tasks/video-classification.js";

const { values } = parseArgs({ options: { model: { type: "string" }, clips: { type: "string" }, write: { type: "string" } } });
if (!values.model) throw new Error("give --model DIR (a checkpoint of tsformer train video)");
const m = loadVideoExplainable(values.model);
const label = m.meta.label;
const ds = new data.MovingDigits("test", { seed: 7 });
const N = Number(values.clips ?? 50), write = Number(values.write ?? 2);
const frames = data.sampleFrameIndices(ds.numFrames, m.need.numFrames);
for (let i = 0; i < write; i++) {
  const c = ds.batch([i], label).videos; // [1, T, 1, S, S]
  const file = join(values.model, `clip${i}.mp4`);
  data.encodeVideo(file, new Tensor(c.data, c.shape.slice(1)), 8);
  console.log(`${file}: ${m.labels[ds.batch([i], label).labels.data[0]]}`);
}
const share = new Float64Array(m.need.numFrames);
let right = 0;
for (let i = 0; i < N; i++) {
  const b = ds.batch([i], label);
  const clip = m.need.numFrames === ds.numFrames ? b.videos : selectFrames(b.videos, frames);
  const e = await explainVideoClip(m, clip, { size: 32 });
  if (e.predicted === b.labels.data[0]) right++;
  const [T, h, w] = e.rollout.shape;
  const per = Array.from({ length: T }, (_, t) => e.rollout.data.subarray(t * h * w, (t + 1) * h * w).reduce((a, v) => a + v, 0));
  const total = per.reduce((a, v) => a + v, 0);
  per.forEach((v, t) => (share[t] += v / total / N));
}
console.log(`${right}/${N} test clips right; rollout share per frame (${m.need.numFrames} frames, rollout over ${m.spec.family}): ${Array.from(share, (v) => (100 * v).toFixed(1) + "%").join(" ")}`);
