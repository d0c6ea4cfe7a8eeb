// Autoregressive decoding: produce one token at a time, feeding each back in.
// Greedy search, beam search with a length penalty (Wu et al. 2016, eq. 14), and sampling
// with temperature, top-k and top-p (Holtzman et al. 2020). Any model that implements
// StepDecoder can be decoded: the Transformer (with or without its key/value cache) and
// the GRU + attention baseline alike.

import { logSoftmax } from "../ops/functional.js";
import { noGrad, type Tensor } from "../tensor/tensor.js";
import { defaultGenerator, type Generator } from "../tensor/random.js";
import { Tensor as TensorClass } from "../tensor/tensor.js";
import { formatShape } from "../tensor/shape.js";
import type { DecoderLayerCache } from "./layers.js";

export interface StepDecoder<S> {
  /** Encode a batch of sources (int32 [B, S]) into the initial state. */
  begin(src: Tensor, srcMask: Tensor | null): S;
  /** Logits [N, V] for the next token of every row, given all tokens so far [N, t]. */
  step(tokens: Tensor, state: S): Tensor;
  /** Keep and reorder rows of the state (beam search); rows index the current N rows. */
  select(state: S, rows: Int32Array): S;
}

export interface DecodeOptions {
  bos: number;
  eos: number;
  /** Most tokens to generate (not counting bos). */
  maxLen: number;
  srcMask?: Tensor | null;
}

export interface BeamOptions extends DecodeOptions {
  beamSize: number;
  /** alpha in ((5 + |Y|) / 6)^alpha; 0 ranks by total log-probability. */
  lengthPenalty?: number;
}

export interface SampleOptions extends DecodeOptions {
  temperature?: number;
  /** Keep only the k most likely tokens (0 = all). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = all). */
  topP?: number;
  generator?: Generator;
}

function tokensTensor(rows: number[][]): Tensor {
  const n = rows.length, t = rows[0].length;
  const out = new Int32Array(n * t);
  rows.forEach((r, i) => out.set(r, i * t));
  return new TensorClass(out, [n, t]);
}

function checkSrc(src: Tensor): void {
  if (src.ndim !== 2 || src.dtype !== "int32") {
    throw new RangeError(`decode: source must be int32 token ids [B, S], got ${src.dtype} ${formatShape(src.shape)}`);
  }
}

/** Strip bos, cut at (excluding) eos. */
function finish(seq: number[], eos: number): number[] {
  const body = seq.slice(1);
  const end = body.indexOf(eos);
  return end < 0 ? body : body.slice(0, end);
}

/** Feed each chosen token back in until every row has said eos or maxLen tokens are out. */
function decodeLoop<S>(dec: StepDecoder<S>, src: Tensor, o: DecodeOptions, pick: (logits: Float32Array) => number): number[][] {
  checkSrc(src);
  return noGrad(() => {
    const B = src.shape[0];
    const state = dec.begin(src, o.srcMask ?? null);
    const seqs = Array.from({ length: B }, () => [o.bos]);
    const done = new Array<boolean>(B).fill(false);
    for (let t = 0; t < o.maxLen && done.includes(false); t++) {
      const logits = dec.step(tokensTensor(seqs), state); // [B, V]
      const V = logits.shape[1];
      for (let b = 0; b < B; b++) {
        const tok = done[b] ? o.eos : pick(logits.data.subarray(b * V, (b + 1) * V) as Float32Array);
        seqs[b].push(tok);
        if (tok === o.eos) done[b] = true;
      }
    }
    return seqs.map((s) => finish(s, o.eos));
  });
}

/** Pick the most likely token at every step. */
export function greedyDecode<S>(dec: StepDecoder<S>, src: Tensor, o: DecodeOptions): number[][] {
  return decodeLoop(dec, src, o, (logits) => {
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
    return best;
  });
}

/** Beam search, one source at a time, ranking finished hypotheses with a length penalty. */
export function beamSearch<S>(dec: StepDecoder<S>, src: Tensor, o: BeamOptions): number[][] {
  checkSrc(src);
  if (!(o.beamSize >= 1)) throw new RangeError(`beamSearch: beamSize must be >= 1, got ${o.beamSize}`);
  const alpha = o.lengthPenalty ?? 0.6;
  const penalty = (len: number): number => ((5 + len) / 6) ** alpha;
  const results: number[][] = [];
  noGrad(() => {
    for (let b = 0; b < src.shape[0]; b++) {
      const one = src.slice(0, b, b + 1);
      const mask = o.srcMask ? o.srcMask.slice(0, b, b + 1) : null;
      let state = dec.begin(one, mask);
      let beams: { seq: number[]; score: number }[] = [{ seq: [o.bos], score: 0 }];
      const finished: { seq: number[]; score: number }[] = [];
      for (let t = 0; t < o.maxLen && beams.length > 0; t++) {
        const logp = logSoftmax(dec.step(tokensTensor(beams.map((h) => h.seq)), state), -1); // [N, V]
        const V = logp.shape[1];
        const cand: { row: number; tok: number; score: number }[] = [];
        for (let r = 0; r < beams.length; r++) {
          // the best beamSize continuations of each beam are enough to find the global best
          const scores = Array.from(logp.data.subarray(r * V, (r + 1) * V));
          const top = scores.map((s, j) => [s, j] as const).sort((x, y) => y[0] - x[0]).slice(0, o.beamSize);
          for (const [s, j] of top) cand.push({ row: r, tok: j, score: beams[r].score + s });
        }
        cand.sort((x, y) => y.score - x.score);
        const next: { seq: number[]; score: number }[] = [];
        const rows: number[] = [];
        for (const c of cand) {
          const seq = [...beams[c.row].seq, c.tok];
          if (c.tok === o.eos) finished.push({ seq, score: c.score / penalty(seq.length - 1) });
          else {
            next.push({ seq, score: c.score });
            rows.push(c.row);
          }
          if (next.length === o.beamSize) break;
        }
        // An open beam's score can only fall, so its best normalised score is score / penalty(maxLen);
        // once beamSize hypotheses are finished, drop the beams that cannot beat the best of them.
        const bestDone = finished.length ? Math.max(...finished.map((f) => f.score)) : -Infinity;
        const keep = next.map((_, i) => i).filter((i) => finished.length < o.beamSize || next[i].score / penalty(o.maxLen) > bestDone);
        if (keep.length === 0) {
          beams = [];
          break;
        }
        beams = keep.map((i) => next[i]);
        state = dec.select(state, Int32Array.from(keep.map((i) => rows[i])));
      }
      for (const h of beams) finished.push({ seq: h.seq, score: h.score / penalty(h.seq.length - 1) });
      finished.sort((x, y) => y.score - x.score);
      results.push(finish(finished[0].seq, o.eos));
    }
  });
  return results;
}

/** Draw each token from the (temperature-scaled, top-k / top-p filtered) distribution. */
export function sampleDecode<S>(dec: StepDecoder<S>, src: Tensor, o: SampleOptions): number[][] {
  const g = o.generator ?? defaultGenerator;
  return decodeLoop(dec, src, o, (logits) => sampleToken(logits, o, g));
}

/** One draw from logits with temperature, top-k and top-p (nucleus) filtering. */
export function sampleToken(logits: Float32Array, o: { temperature?: number; topK?: number; topP?: number }, g: Generator = defaultGenerator): number {
  const temperature = o.temperature ?? 1;
  if (!(temperature > 0)) throw new RangeError(`sample: temperature must be > 0, got ${temperature}`);
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, order.length) : order.length;
  const kept = order.slice(0, k);
  const mx = logits[kept[0]];
  let probs = kept.map((j) => Math.exp((logits[j] - mx) / temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / total);
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let acc = 0, cut = probs.length;
    for (let i = 0; i < probs.length; i++) {
      acc += probs[i];
      if (acc >= topP) {
        cut = i + 1;
        break;
      }
    }
    probs = probs.slice(0, cut);
    total = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / total);
  }
  let u = g.random(), i = 0;
  while (i < probs.length - 1 && u >= probs[i]) u -= probs[i++];
  return kept[i];
}

// --- the Transformer as a StepDecoder -------------------------------------------------------

export interface TransformerState {
  memory: Tensor;
  memoryMask: Tensor | null;
  caches: DecoderLayerCache[] | null;
}

/**
 * What transformerDecoder needs of an encoder-decoder model (models/transformer.ts's
 * Transformer has it); stated here so this layer does not import the models layer.
 */
export interface EncoderDecoder {
  encode(src: Tensor, srcMask: Tensor | null): Tensor;
  decode(tgt: Tensor, memory: Tensor, memoryMask: Tensor | null, caches: DecoderLayerCache[] | null): Tensor;
  newCaches(): DecoderLayerCache[];
}

/**
 * Decode with the Transformer. With useCache (default) each step feeds only the newest token
 * and attends to cached keys and values, so a new token costs O(T) instead of O(T^2).
 */
export function transformerDecoder(model: EncoderDecoder, options: { useCache?: boolean } = {}): StepDecoder<TransformerState> {
  const useCache = options.useCache ?? true;
  return {
    begin(src, srcMask) {
      return { memory: model.encode(src, srcMask), memoryMask: srcMask, caches: useCache ? model.newCaches() : null };
    },
    step(tokens, s) {
      const T = tokens.shape[1];
      const input = s.caches ? tokens.slice(1, T - 1, T) : tokens;
      const logits = model.decode(input, s.memory, s.memoryMask, s.caches); // [N, t, V]
      const t = logits.shape[1], V = logits.shape[2];
      return logits.slice(1, t - 1, t).reshape([tokens.shape[0], V]);
    },
    select(s, rows) {
      const idx = new TensorClass(rows, [rows.length]);
      return {
        memory: s.memory.indexSelect(0, idx),
        memoryMask: s.memoryMask ? s.memoryMask.indexSelect(0, idx) : null,
        caches: s.caches ? s.caches.map((c) => c.select(idx)) : null,
      };
    },
  };
}
