// Resizing learned position tables for another input size: ViT §3.2 fine-tunes at a higher
// resolution by 2-D interpolating the pre-trained position embeddings over the patch grid.

import { Tensor } from "../tensor/tensor.js";
import { formatShape } from "../tensor/shape.js";

/** Bilinear resampling (align_corners=false, like PyTorch's F.interpolate) of [H, W, C] to [h, w, C]. */
export function bilinearResize(grid: Float32Array, H: number, W: number, C: number, h: number, w: number): Float32Array {
  const out = new Float32Array(h * w * C);
  const sy = H / h, sx = W / w;
  for (let y = 0; y < h; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(Math.floor(fy), H - 1), y1 = Math.min(y0 + 1, H - 1), wy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.max(0, (x + 0.5) * sx - 0.5);
      const x0 = Math.min(Math.floor(fx), W - 1), x1 = Math.min(x0 + 1, W - 1), wx = fx - x0;
      for (let c = 0; c < C; c++) {
        const v = (1 - wy) * ((1 - wx) * grid[(y0 * W + x0) * C + c] + wx * grid[(y0 * W + x1) * C + c]) +
          wy * ((1 - wx) * grid[(y1 * W + x0) * C + c] + wx * grid[(y1 * W + x1) * C + c]);
        out[(y * w + x) * C + c] = v;
      }
    }
  }
  return out;
}

/**
 * ViT position embeddings [1, 1 + H*W, C] (a [CLS] slot, then the patch grid) resized to a
 * grid of newH x newW; the [CLS] position is kept as it is.
 */
export function resizePositionEmbeddings(pos: Tensor, newH: number, newW: number, numPrefixTokens = 1): Tensor {
  const [one, n, C] = pos.shape;
  const g = n - numPrefixTokens;
  const H = Math.round(Math.sqrt(g));
  if (pos.ndim !== 3 || one !== 1 || H * H !== g) {
    throw new RangeError(`resizePositionEmbeddings: expected [1, ${numPrefixTokens} + H*W, C] with a square grid, got ${formatShape(pos.shape)}`);
  }
  const prefix = pos.data.subarray(0, numPrefixTokens * C) as Float32Array;
  const grid = pos.data.subarray(numPrefixTokens * C) as Float32Array;
  const resized = bilinearResize(grid, H, H, C, newH, newW);
  const out = new Float32Array((numPrefixTokens + newH * newW) * C);
  out.set(prefix, 0);
  out.set(resized, numPrefixTokens * C);
  return new Tensor(out, [1, numPrefixTokens + newH * newW, C]);
}
