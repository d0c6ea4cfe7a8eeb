// Image augmentation on batches [B, C, H, W]. The ViT paper trains on ImageNet with random
// crops and flips; for small images, shifting by a few pixels is the same random crop (pad by
// `max`, crop back to H x W). Flips are only for data whose labels survive a mirror: never for
// digits (a mirrored 2 is not a 2), so the trainer leaves them off unless asked.

import { formatShape } from "../tensor/shape.js";
import { defaultGenerator, type Generator } from "../tensor/random.js";
import { Tensor } from "../tensor/tensor.js";

function assertImages(op: string, x: Tensor): void {
  if (x.ndim !== 4 || x.dtype !== "float32") {
    throw new RangeError(`${op}: expected float32 images [B, C, H, W], got ${x.dtype} ${formatShape(x.shape)}`);
  }
}

/**
 * Shift each image by its own (dy, dx), drawn uniformly from [-max, max]; pixels shifted in
 * take `fill` (the normalised background). Equivalent to pad(max) + random crop.
 */
export function randomShift(x: Tensor, max: number, options: { fill?: number; generator?: Generator } = {}): Tensor {
  assertImages("randomShift", x);
  if (!(Number.isInteger(max) && max >= 0)) throw new RangeError(`randomShift: max must be an integer >= 0, got ${max}`);
  const g = options.generator ?? defaultGenerator;
  const fill = options.fill ?? 0;
  const [B, C, H, W] = x.shape;
  const out = new Float32Array(x.numel).fill(fill);
  const src = x.data as Float32Array;
  for (let b = 0; b < B; b++) {
    const dy = g.randint(-max, max + 1), dx = g.randint(-max, max + 1);
    // output (y, x) reads input (y - dy, x - dx)
    const y0 = Math.max(0, dy), y1 = Math.min(H, H + dy);
    const x0 = Math.max(0, dx), x1 = Math.min(W, W + dx);
    if (x1 <= x0) continue;
    for (let c = 0; c < C; c++) {
      const plane = (b * C + c) * H * W;
      for (let y = y0; y < y1; y++) {
        const row = plane + y * W, srcRow = plane + (y - dy) * W;
        out.set(src.subarray(srcRow + x0 - dx, srcRow + x1 - dx), row + x0);
      }
    }
  }
  return new Tensor(out, [B, C, H, W]);
}

/** Mirror each image left-right with probability p (for natural images, not digits or text). */
export function randomHorizontalFlip(x: Tensor, p = 0.5, options: { generator?: Generator } = {}): Tensor {
  assertImages("randomHorizontalFlip", x);
  const g = options.generator ?? defaultGenerator;
  const [B, C, H, W] = x.shape;
  const src = x.data as Float32Array;
  const out = src.slice();
  for (let b = 0; b < B; b++) {
    if (g.random() >= p) continue;
    for (let r = 0; r < C * H; r++) {
      const row = (b * C * H + r) * W;
      for (let i = 0; i < W; i++) out[row + i] = src[row + W - 1 - i];
    }
  }
  return new Tensor(out, [B, C, H, W]);
}
