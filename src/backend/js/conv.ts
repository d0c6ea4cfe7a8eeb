// Reference im2col / col2im for N-d convolution (1-D, 2-D, 3-D alike).

import type { F32 } from "../backend.js";

/** Visit every (row of cols, column of cols, input index or -1 for padding). */
function walk(channels: number, spatial: number[], kernel: number[], stride: number[], padding: number[],
  dilation: number[], outSpatial: number[], visit: (row: number, col: number, inIndex: number) => void): void {
  const nd = spatial.length;
  const kSize = kernel.reduce((a, b) => a * b, 1);
  const oSize = outSpatial.reduce((a, b) => a * b, 1);
  const inSize = spatial.reduce((a, b) => a * b, 1);
  const kIdx = new Array<number>(nd);
  const oIdx = new Array<number>(nd);
  for (let c = 0; c < channels; c++) {
    for (let kk = 0; kk < kSize; kk++) {
      let rem = kk;
      for (let d = nd - 1; d >= 0; d--) { kIdx[d] = rem % kernel[d]; rem = Math.floor(rem / kernel[d]); }
      const row = c * kSize + kk;
      for (let oo = 0; oo < oSize; oo++) {
        let r2 = oo;
        for (let d = nd - 1; d >= 0; d--) { oIdx[d] = r2 % outSpatial[d]; r2 = Math.floor(r2 / outSpatial[d]); }
        let inIndex = 0;
        let inside = true;
        for (let d = 0; d < nd; d++) {
          const pos = oIdx[d] * stride[d] - padding[d] + kIdx[d] * dilation[d];
          if (pos < 0 || pos >= spatial[d]) { inside = false; break; }
          inIndex = inIndex * spatial[d] + pos;
        }
        visit(row, oo, inside ? c * inSize + inIndex : -1);
      }
    }
  }
}

export function im2col(x: F32, xOffset: number, channels: number, spatial: number[], kernel: number[], stride: number[],
  padding: number[], dilation: number[], outSpatial: number[], cols: F32): void {
  const oSize = outSpatial.reduce((a, b) => a * b, 1);
  walk(channels, spatial, kernel, stride, padding, dilation, outSpatial, (row, col, i) => {
    cols[row * oSize + col] = i < 0 ? 0 : x[xOffset + i];
  });
}

export function col2im(cols: F32, channels: number, spatial: number[], kernel: number[], stride: number[],
  padding: number[], dilation: number[], outSpatial: number[], dx: F32, dxOffset: number): void {
  const oSize = outSpatial.reduce((a, b) => a * b, 1);
  walk(channels, spatial, kernel, stride, padding, dilation, outSpatial, (row, col, i) => {
    if (i >= 0) dx[dxOffset + i] += cols[row * oSize + col];
  });
}
