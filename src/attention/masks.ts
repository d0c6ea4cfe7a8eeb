// Attention masks as int32 tensors where 1 means "may attend" and 0 means "masked out".
// They broadcast against scores [B, (H,) Tq, Tk]; combine them with combineMasks.

import { formatShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";

/** [T, T] lower-triangular: query i sees keys j <= i (the decoder's masked self-attention). */
export function causalMask(tq: number, tk = tq): Tensor {
  const out = new Int32Array(tq * tk);
  const shift = tk - tq; // with a cache, the queries are the last tq positions of tk
  for (let i = 0; i < tq; i++) for (let j = 0; j < tk; j++) out[i * tk + j] = j <= i + shift ? 1 : 0;
  return new Tensor(out, [tq, tk]);
}

/** [B, 1, T] from sequence lengths: key j of sequence b is real when j < lengths[b]. */
export function paddingMask(lengths: readonly number[] | Int32Array, maxLen: number): Tensor {
  const B = lengths.length;
  const out = new Int32Array(B * maxLen);
  for (let b = 0; b < B; b++) {
    if (lengths[b] < 0 || lengths[b] > maxLen) throw new RangeError(`paddingMask: length ${lengths[b]} of sequence ${b} is outside 0..${maxLen}`);
    for (let j = 0; j < lengths[b]; j++) out[b * maxLen + j] = 1;
  }
  return new Tensor(out, [B, 1, maxLen]);
}

/** [B, 1, T] from token ids: 0 where the id is the padding id. */
export function paddingMaskFromIds(ids: Tensor, padId: number): Tensor {
  if (ids.ndim !== 2) throw new RangeError(`paddingMaskFromIds: ids must be [B, T], got ${formatShape(ids.shape)}`);
  const [B, T] = ids.shape;
  return new Tensor(Int32Array.from(ids.data, (v) => (v === padId ? 0 : 1)), [B, 1, T]);
}

/** [T, T] band: query i sees keys within `window` positions (both sides, or only past when causal). */
export function slidingWindowMask(t: number, window: number, causal = false): Tensor {
  if (!(window >= 0)) throw new RangeError(`slidingWindowMask: window must be >= 0, got ${window}`);
  const out = new Int32Array(t * t);
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < t; j++) {
      const d = i - j;
      out[i * t + j] = (causal ? d >= 0 && d <= window : Math.abs(d) <= window) ? 1 : 0;
    }
  }
  return new Tensor(out, [t, t]);
}

/** Logical AND of masks with broadcasting; null entries are ignored. */
export function combineMasks(...masks: (Tensor | null | undefined)[]): Tensor | null {
  const list = masks.filter((m): m is Tensor => !!m);
  if (list.length === 0) return null;
  let acc = list[0].ne(0);
  for (const m of list.slice(1)) acc = acc.mul(m.ne(0));
  return acc;
}
