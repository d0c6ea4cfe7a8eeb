// Chapter 9: CNNs versus ViTs on small and large data. The ViT paper (Dosovitskiy et al. 2021,
// §4.2, Fig. 3-4) finds ResNets ahead when pretraining data is small and ViTs ahead when it is
// large; its explanation (§3.1, "inductive bias") is that a convolution is built to treat every
// position alike, while a ViT must learn it. That difference is measured here exactly: shift a
// digit by s pixels; a convolution's feature map shifts with it for every s, while the ViT's
// patch tokens follow only shifts by whole patches.
//
// The data-size table itself needs about 25 CPU-minutes: `--table` runs examples/vit-compare.ts
// (the table of docs/VIT.md) for ViT and the ResNet baseline.
//
//   node dist/examples/guide/09-cnn-vs-vit.js [--small] [--out docs/guide/img] [--table]

import { data, explain, manualSeed, models, noGrad, type Tensor, zeros } from "../../src/index.js";
import { runComparison, markdownTables } from "../vit-compare.js";
import { cliOptions, type GuideOptions, isMain, resolve, savePng, saveSvg } from "./common.js";

/** x [1, C, H, W] moved right by s pixels (zeros shifted in). */
export function shiftRight(x: Tensor, s: number): Tensor {
  const [, C, H, W] = x.shape, out = zeros(x.shape), a = x.data as Float32Array, o = out.data as Float32Array;
  for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let xx = 0; xx + s < W; xx++) o[(c * H + y) * W + xx + s] = a[(c * H + y) * W + xx];
  return out;
}

/**
 * Relative error |f(shift x) - shift(f(x))| / |f(x)| for a feature map [1, D, h, w] shifted by k
 * cells, over the columns both maps cover (the k columns shifted in have no counterpart).
 */
function mapError(fx: Tensor, fsx: Tensor, k: number): number {
  const [, D, h, w] = fx.shape, a = shiftRight(fx, k).data as Float32Array, b = fsx.data as Float32Array, r = fx.data as Float32Array;
  let num = 0, den = 0;
  for (let i = 0; i < D * h * w; i++) {
    if (i % w < k) continue;
    num += (a[i] - b[i]) ** 2;
    den += r[i] ** 2;
  }
  return Math.sqrt(num / den);
}

export interface EquivarianceRow {
  shift: number;
  /** ResNet stem (conv 3x3 + GroupNorm + ReLU): the map shifted by `shift` pixels. */
  cnnError: number;
  /** ViT patch tokens, as a [D, 7, 7] grid, shifted by shift / patch cells (the nearest whole number). */
  vitError: number;
}

export async function run(options: GuideOptions & { table?: boolean } = {}): Promise<{ rows: EquivarianceRow[]; pictures: string[] }> {
  const { setting, out, log } = resolve(options);
  manualSeed(0);
  const digit = data.loadMnist("test", { limit: 1, normalize: false }).images; // [1, 1, 28, 28] in [0, 1], a 4-pixel empty margin
  const cnn = new models.ResNetForImageClassification(models.resnetPresets["resnet-mnist"]);
  const vit = new models.ViTForImageClassification(models.vitPresets["vit-mnist"]); // 4x4 patches: a 7x7 grid
  const P = vit.config.patchSize, g = 28 / P, D = vit.config.hiddenSize;
  const shifts = setting === "full" ? [0, 1, 2, 3, 4] : [1, 2, 4];
  const rows = noGrad(() => {
    const stem = (x: Tensor) => cnn.resnet.embedder.forward(x); // [1, 16, 28, 28]
    // [1, N, D] tokens -> [1, D, 7, 7], the grid they came from
    const tokens = (x: Tensor) => vit.vit.embeddings.patch_embeddings.forward(x).permute([0, 2, 1]).reshape([1, D, g, g]);
    // the patch projection has a bias, so an empty patch is not zero: measure deviations from an empty image's tokens
    const empty = tokens(zeros([1, 1, 28, 28]));
    const centred = (x: Tensor) => tokens(x).sub(empty);
    const f0 = stem(digit), t0 = centred(digit);
    return shifts.map((s) => {
      const xs = shiftRight(digit, s);
      return { shift: s, cnnError: mapError(f0, stem(xs), s), vitError: mapError(t0, centred(xs), Math.round(s / P)) };
    });
  });
  for (const r of rows) log(`shift ${r.shift} px: CNN stem error ${r.cnnError.toExponential(2)}, ViT patch tokens error ${r.vitError.toExponential(2)}`);

  const big = (x: Tensor) => explain.resizeNearest(explain.tensorToImage(x), 112, 112);
  const pictures = [
    await savePng(out, "09-shifted-digits.png", explain.tileImages(shifts.map((s) => big(shiftRight(digit, s))), { cols: shifts.length })),
    saveSvg(out, "09-equivariance.svg", explain.lineChartSvg([
      { name: "CNN stem", x: rows.map((r) => r.shift), y: rows.map((r) => r.cnnError) },
      { name: "ViT patch tokens", x: rows.map((r) => r.shift), y: rows.map((r) => r.vitError) },
    ], { title: "|f(shifted x) - shifted f(x)| / |f(x)|", xLabel: "shift (pixels)", yLabel: "relative error" })),
  ].filter((p): p is string => p !== null);

  if (options.table) {
    const r = runComparison({ models: ["vit", "cnn"], sizes: [600, 6000, 60000], skipTransfer: true, out: "runs/guide-cnn-vs-vit", log });
    log(markdownTables(r));
  }
  return { rows, pictures };
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  await run({ ...cliOptions(argv.filter((a) => a !== "--table")), table: argv.includes("--table") });
}
