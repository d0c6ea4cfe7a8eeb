// Chapter 8: the Vision Transformer (Dosovitskiy et al. 2021, §3.1, eq. 1) reads an image as
// a sentence of patches. Cut the H x W image into N = HW / P^2 patches of P x P pixels, flatten
// each to a vector of C P^2 numbers, map it with one matrix E to D numbers, put a learned
// [CLS] token in front and add learned position embeddings: z0 = [x_class; x_p^1 E; ...; x_p^N E] + E_pos.
// tsformer computes x_p E as a convolution with stride = kernel = P (what Hugging Face stores);
// here the patches are cut by hand and the two compared.
//
//   node dist/examples/guide/08-vit-patches.js [--small] [--out docs/guide/img]

import { data, explain, manualSeed, models, noGrad, Tensor } from "../../src/index.js";
import { cliOptions, type GuideOptions, isMain, resolve, savePng } from "./common.js";

/** The patches of x [1, C, H, W] by hand: [N, C*P*P], row-major over the patch grid. */
export function cutPatches(x: Tensor, P: number): Float32Array[] {
  const [, C, H, W] = x.shape, d = x.data as Float32Array, out: Float32Array[] = [];
  for (let r = 0; r < H / P; r++) {
    for (let c = 0; c < W / P; c++) {
      const v = new Float32Array(C * P * P);
      for (let ch = 0; ch < C; ch++) for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) v[(ch * P + i) * P + j] = d[(ch * H + r * P + i) * W + c * P + j];
      out.push(v);
    }
  }
  return out;
}

export interface PatchResult {
  /** max |patches E + b - the model's patch embedding| */
  maxDiff: number;
  /** Sequence length of vit-mnist (28x28, 4x4 patches, + [CLS]) and of ViT-B/16 at 224x224. */
  tokens: number;
  tokens224: number;
  pictures: string[];
}

export async function run(options: GuideOptions = {}): Promise<PatchResult> {
  const { out, log } = resolve(options);
  manualSeed(0);
  const vit = new models.ViTForImageClassification(models.vitPresets["vit-mnist"]);
  const { patchSize: P, hiddenSize: D } = vit.config;
  const pixels = data.loadMnist("test", { limit: 1, normalize: false }).images; // [1, 1, 28, 28]
  const patches = cutPatches(pixels, P); // N = 49 vectors of 16 pixels
  const E = vit.vit.embeddings.patch_embeddings.projection; // Conv2d(1, D, P, stride P): weight [D, 1, P, P]
  const w = E.weight.data as Float32Array, b = E.bias!.data as Float32Array;
  const model = noGrad(() => vit.vit.embeddings.patch_embeddings.forward(pixels)).data as Float32Array; // [1, N, D]
  let maxDiff = 0;
  patches.forEach((p, n) => {
    for (let k = 0; k < D; k++) {
      let s = b[k];
      for (let i = 0; i < p.length; i++) s += p[i] * w[k * p.length + i]; // x_p E: one row of the weight per output
      maxDiff = Math.max(maxDiff, Math.abs(s - model[n * D + k]));
    }
  });
  const tokens = patches.length + 1, tokens224 = (224 / 16) ** 2 + 1;
  const z0 = noGrad(() => vit.vit.embeddings.forward(pixels)).shape; // [1, N+1, D]
  log(`${patches.length} patches of ${P}x${P} -> tokens ${JSON.stringify(z0)}; by hand vs the convolution: max |difference| ${maxDiff.toExponential(2)}`);
  log(`ViT-B/16 at 224x224: ${tokens224} tokens; attention over them costs ${tokens224 ** 2} query-key pairs per head and layer`);

  const scale = 6;
  const digit = explain.resizeNearest(explain.tensorToImage(pixels), 28 * scale, 28 * scale);
  const grid = { ...digit, data: Uint8Array.from(digit.data) };
  for (let y = 0; y < grid.height; y++) {
    for (let x = 0; x < grid.width; x++) {
      if (y % (P * scale) === 0 || x % (P * scale) === 0) grid.data.set([230, 60, 60], (y * grid.width + x) * 3); // the patch borders in red
    }
  }
  const tiles = patches.map((p) => explain.resizeNearest(explain.tensorToImage(new Tensor(p, [1, P, P])), P * scale, P * scale));
  const pictures = [
    await savePng(out, "08-patch-grid.png", grid),
    await savePng(out, "08-patches.png", explain.tileImages(tiles, { cols: 28 / P, pad: 3 })),
    await savePng(out, "08-patch-sequence.png", explain.tileImages(tiles.slice(0, 28 / P * 2), { cols: 28 / P * 2, pad: 3 })),
  ].filter((p): p is string => p !== null);
  return { maxDiff, tokens, tokens224, pictures };
}

if (isMain(import.meta.url)) await run(cliOptions());
