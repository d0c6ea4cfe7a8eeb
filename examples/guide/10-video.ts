// Chapter 10: video transformers. A clip [B, T, C, H, W] becomes T x N patch tokens. Joint
// space-time attention (TimeSformer "ST", ViViT model 1) lets every token attend to every
// other: (T N)^2 pairs per layer. Divided attention (TimeSformer "T+S", Bertasius et al. 2021,
// §3; ViViT's factorised models) first attends over time (each patch position across the T
// frames), then over space (each frame's N patches): N T^2 + T N^2 pairs, a factor of about
// T N / (T + N) fewer. Counted here from the attention the models actually record.
//
//   node dist/examples/guide/10-video.js [--small] [--out docs/guide/img]

import { data, explain, manualSeed, models, noGrad, type Tensor } from "../../src/index.js";
import { cliOptions, type GuideOptions, isMain, resolve, savePng, saveSvg } from "./common.js";

export interface VideoRow {
  frames: number;
  /** Patches per frame. */
  patches: number;
  /** Query-key pairs per head per clip per layer, counted from the recorded weights. */
  joint: number;
  divided: number;
  spaceOnly: number;
  /** Forward time for one clip, ms. */
  jointMs: number;
  dividedMs: number;
}

/** Query-key pairs in the recorded weights of layer 0 (per head, per clip). */
function pairs(records: readonly explain.AttentionRecord[], layers: number): number {
  return records.reduce((s, r) => s + r.weights.numel / r.weights.shape[1], 0) / layers;
}

export async function run(options: GuideOptions = {}): Promise<{ rows: VideoRow[]; pictures: string[] }> {
  const { setting, out, log } = resolve(options);
  const frameCounts = setting === "full" ? [2, 4, 8, 16, 32] : [2, 4, 8];
  const digits = data.loadMnist("train", { limit: 50, normalize: false }).images; // [50, 1, 28, 28] in [0, 1]
  const rows: VideoRow[] = [];
  let lastClip: Tensor | null = null;
  for (const T of frameCounts) {
    const clip = data.bouncingDigits(digits, { numFrames: T, frameSize: 32, numDigits: 1, speed: 2 }).reshape([1, T, 1, 32, 32]); // [B, T, C, H, W]
    lastClip = clip;
    const count = (type: models.TimesformerAttentionType) => {
      manualSeed(0);
      const c = { ...models.timesformerPresets["timesformer-divided-digits"], attentionType: type, numFrames: T };
      const m = new models.TimesformerForVideoClassification(c);
      m.eval();
      return noGrad(() => {
        const t0 = performance.now();
        m.forward(clip);
        const ms = performance.now() - t0;
        const rec = explain.recordAttention(m, () => m.forward(clip)).attentions;
        return { pairs: pairs(rec, c.numHiddenLayers), ms, patches: (c.imageSize / c.patchSize) ** 2 };
      });
    };
    const j = count("joint_space_time"), d = count("divided_space_time"), s = count("space_only");
    rows.push({ frames: T, patches: j.patches, joint: j.pairs, divided: d.pairs, spaceOnly: s.pairs, jointMs: j.ms, dividedMs: d.ms });
    log(`T ${String(T).padStart(2)} frames x N ${j.patches} patches: pairs per layer joint ${j.pairs}, divided ${d.pairs}, space-only ${s.pairs}; ` +
      `forward ${j.ms.toFixed(1)} ms joint, ${d.ms.toFixed(1)} ms divided`);
  }
  const x = rows.map((r) => r.frames);
  const frames = Array.from({ length: lastClip!.shape[1] }, (_, t) =>
    explain.resizeNearest(explain.tensorToImage(lastClip!.narrow(1, t, 1).reshape([1, 32, 32])), 64, 64));
  const pictures = [
    saveSvg(out, "10-attention-pairs.svg", explain.lineChartSvg([
      { name: "joint space-time", x, y: rows.map((r) => r.joint) },
      { name: "divided (time, then space)", x, y: rows.map((r) => r.divided) },
      { name: "space only", x, y: rows.map((r) => r.spaceOnly) },
    ], { title: "query-key pairs per layer (16 patches per frame)", xLabel: "frames T", yLabel: "pairs" })),
    await savePng(out, "10-clip.png", explain.videoStrip(frames.slice(0, 8))),
  ].filter((p): p is string => p !== null);
  return { rows, pictures };
}

if (isMain(import.meta.url)) await run(cliOptions());
