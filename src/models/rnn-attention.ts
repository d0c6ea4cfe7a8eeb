// The model the Transformer replaced: "Neural Machine Translation by Jointly Learning to Align
// and Translate" (Bahdanau, Cho and Bengio 2015). Read top to bottom, it follows the paper:
//
//   encoder (§3.2)   a bidirectional GRU reads the source; annotation h_j = [fwd h_j; bwd h_j]
//   initial state    s_0 = tanh(W_s bwd h_1)                      (appendix A.2.2)
//   alignment (§3.1) e_ij = v_a . tanh(W_a s_{i-1} + U_a h_j),  alpha_ij = softmax_j(e_ij)
//   context          c_i = sum_j alpha_ij h_j
//   decoder GRU      s_i = GRU([E y_{i-1}; c_i], s_{i-1})
//   output           p(y_i | ...) = softmax(W_o tanh(L_o [s_i; E y_{i-1}; c_i]))
//
// (The paper's deep output uses s_{i-1} and a maxout unit; like most reimplementations this
// reads out from s_i through a tanh layer.) Training is teacher-forced and sequential over the
// target: step i needs s_{i-1}, which is exactly the dependency the Transformer removed.

import { AdditiveScore } from "../attention/scores.js";
import { attendWithScores } from "../attention/attend.js";
import { Dropout, Embedding, Linear } from "../nn/layers.js";
import { GRU, GRUCell } from "../nn/gru.js";
import { Module } from "../nn/module.js";
import { add, tanh } from "../ops/elementwise.js";
import { cat, indexSelect, narrow, reshape, squeeze, stack, unsqueeze } from "../ops/shape.js";
import { formatShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import type { StepDecoder } from "../transformer/decoding.js";

export interface RnnAttentionConfig {
  srcVocabSize: number;
  tgtVocabSize: number;
  /** Source and target embedding size (the paper's m = 620). */
  embedDim: number;
  /** Hidden size of each encoder direction (the paper's n = 1000). */
  encoderHidden: number;
  /** Decoder GRU size (n = 1000). */
  decoderHidden: number;
  /** Alignment model size n' (1000). */
  attentionDim: number;
  /** Deep-output layer size (l = 500). */
  readoutDim: number;
  dropout: number;
  /** Token id of padding in the source (masked out of attention). */
  padId?: number;
}

export const rnnAttentionPresets: Record<string, RnnAttentionConfig> = {
  "rnnsearch-50": {
    srcVocabSize: 30000, tgtVocabSize: 30000, embedDim: 620, encoderHidden: 1000, decoderHidden: 1000,
    attentionDim: 1000, readoutDim: 500, dropout: 0, padId: 0,
  },
  "rnnsearch-small": {
    srcVocabSize: 64, tgtVocabSize: 64, embedDim: 128, encoderHidden: 256, decoderHidden: 256,
    attentionDim: 256, readoutDim: 256, dropout: 0.1, padId: 0,
  },
};

/** What decoding carries between steps. Rows index the batch (or beam) rows. */
export interface RnnAttentionState {
  /** Annotations h_j [N, S, 2 * encoderHidden]. */
  memory: Tensor;
  /** U_a h_j + b, computed once per source [N, S, attentionDim]. */
  keys: Tensor;
  /** int32 [N, 1, S] (1 = real source token) or null. */
  mask: Tensor | null;
  /** Decoder state s_{i-1} [N, decoderHidden]. */
  s: Tensor;
  /** Attention weights alpha_i [N, S] of every step so far (for alignment plots). */
  weights: Tensor[];
}

export interface RnnAttentionOutput {
  /** [B, T, V] */
  logits: Tensor;
  /** alpha [B, T, S]: target step i's weights over the source. */
  attention: Tensor;
}

export class RnnAttentionSeq2Seq extends Module {
  srcEmbed: Embedding;
  tgtEmbed: Embedding;
  encoder: GRU;
  initState: Linear;
  attention: AdditiveScore;
  decoder: GRUCell;
  readout: Linear;
  generator: Linear;
  dropout: Dropout;

  constructor(readonly config: RnnAttentionConfig) {
    super();
    const c = config;
    for (const k of ["srcVocabSize", "tgtVocabSize", "embedDim", "encoderHidden", "decoderHidden", "attentionDim", "readoutDim"] as const) {
      if (!(Number.isInteger(c[k]) && c[k] >= 1)) throw new RangeError(`RnnAttentionSeq2Seq: ${k} must be a positive integer, got ${c[k]}`);
    }
    const annot = 2 * c.encoderHidden;
    this.srcEmbed = new Embedding(c.srcVocabSize, c.embedDim);
    this.tgtEmbed = new Embedding(c.tgtVocabSize, c.embedDim);
    this.encoder = new GRU(c.embedDim, c.encoderHidden, { bidirectional: true });
    this.initState = new Linear(c.encoderHidden, c.decoderHidden); // W_s
    this.attention = new AdditiveScore(c.decoderHidden, annot, c.attentionDim); // W1 = W_a, W2 = U_a, v = v_a
    this.decoder = new GRUCell(c.embedDim + annot, c.decoderHidden);
    this.readout = new Linear(c.decoderHidden + c.embedDim + annot, c.readoutDim); // L_o
    this.generator = new Linear(c.readoutDim, c.tgtVocabSize); // W_o
    this.dropout = new Dropout(c.dropout);
  }

  private checkIds(what: string, ids: Tensor, vocab: number): void {
    if (ids.ndim !== 2 || ids.dtype !== "int32") {
      throw new RangeError(`RnnAttentionSeq2Seq: ${what} must be int32 token ids [B, T], got ${ids.dtype} ${formatShape(ids.shape)}`);
    }
    for (let i = 0; i < ids.numel; i++) {
      const v = ids.data[i];
      if (v < 0 || v >= vocab) throw new RangeError(`RnnAttentionSeq2Seq: ${what} id ${v} is outside the vocabulary of ${vocab}`);
    }
  }

  /** Source lengths from a padding mask ([B, 1, S] or [B, 1, 1, S], 1 = real) or, without one, from padId. */
  private lengths(src: Tensor, mask: Tensor | null): { lengths: Int32Array; mask: Tensor | null } {
    const [B, S] = src.shape;
    let m: Tensor | null = null;
    if (mask) {
      if (mask.numel !== B * S) throw new RangeError(`RnnAttentionSeq2Seq: source mask ${formatShape(mask.shape)} does not match the source ${formatShape(src.shape)}`);
      m = new Tensor(Int32Array.from(mask.data, (v) => (v !== 0 ? 1 : 0)), [B, 1, S]);
    } else if (this.config.padId !== undefined) {
      m = new Tensor(Int32Array.from(src.data, (v) => (v !== this.config.padId ? 1 : 0)), [B, 1, S]);
    }
    const lengths = new Int32Array(B).fill(S);
    if (m) {
      for (let b = 0; b < B; b++) {
        let n = 0;
        for (let j = 0; j < S; j++) n += m.data[b * S + j];
        // padding must be at the end (a GRU reads the real tokens first)
        for (let j = 0; j < n; j++) {
          if (m.data[b * S + j] === 0) throw new RangeError(`RnnAttentionSeq2Seq: row ${b} of the source has padding before its end`);
        }
        if (n === 0) throw new RangeError(`RnnAttentionSeq2Seq: row ${b} of the source is empty`);
        lengths[b] = n;
      }
    }
    return { lengths, mask: m };
  }

  /** Encoder (§3.2): annotations [B, S, 2 n] and the initial decoder state. */
  begin(src: Tensor, srcMask: Tensor | null = null): RnnAttentionState {
    this.checkIds("source", src, this.config.srcVocabSize);
    const { lengths, mask } = this.lengths(src, srcMask);
    const x = this.dropout.forward(this.srcEmbed.forward(src));
    const { output: memory, hN } = this.encoder.forward(x, null, lengths);
    // hN [2, B, n]: row 1 is the backward direction after reading the whole source, i.e. bwd h_1
    const s0 = tanh(this.initState.forward(squeeze(narrow(hN, 0, 1, 1), 0)));
    const keys = this.attention.W2.forward(memory); // U_a h_j, once per source
    return { memory, keys, mask, s: s0, weights: [] };
  }

  /**
   * One decoder step: previous target ids [N] -> logits [N, V]; updates state.s and appends
   * this step's attention weights to state.weights.
   */
  decodeStep(prev: Tensor, state: RnnAttentionState): Tensor {
    const N = prev.shape[0];
    // alignment: e_j = v . tanh(W_a s_{i-1} + U_a h_j), masked softmax, context c_i
    const q = unsqueeze(this.attention.W1.forward(state.s), 1); // [N, 1, n']
    const scores = reshape(this.attention.v.forward(tanh(add(q, state.keys))), [N, 1, state.keys.shape[1]]); // [N, 1, S]
    const { output, weights } = attendWithScores(scores, state.memory, state.mask);
    const c = reshape(output, [N, state.memory.shape[2]]); // [N, 2n]
    const e = this.dropout.forward(this.tgtEmbed.forward(prev)); // E y_{i-1} [N, m]
    state.s = this.decoder.forward(cat([e, c], 1), state.s); // s_i
    state.weights.push(reshape(weights!, [N, state.keys.shape[1]]));
    const t = tanh(this.readout.forward(this.dropout.forward(cat([state.s, e, c], 1))));
    return this.generator.forward(t);
  }

  /** Teacher forcing: src [B, S], tgtIn [B, T] (bos + target) -> logits [B, T, V] and alpha [B, T, S]. */
  forward(src: Tensor, tgtIn: Tensor, srcMask: Tensor | null = null): RnnAttentionOutput {
    this.checkIds("target", tgtIn, this.config.tgtVocabSize);
    if (tgtIn.shape[0] !== src.shape[0]) {
      throw new RangeError(`RnnAttentionSeq2Seq: source batch ${src.shape[0]} and target batch ${tgtIn.shape[0]} differ`);
    }
    const state = this.begin(src, srcMask);
    const [B, T] = tgtIn.shape;
    const logits: Tensor[] = [];
    for (let i = 0; i < T; i++) {
      logits.push(this.decodeStep(reshape(narrow(tgtIn, 1, i, 1), [B]), state)); // sequential: s_i needs s_{i-1}
    }
    return { logits: stack(logits, 1), attention: stack(state.weights, 1) };
  }
}

/** The model as a StepDecoder, so greedyDecode / beamSearch run on it unchanged. */
export function rnnAttentionDecoder(model: RnnAttentionSeq2Seq): StepDecoder<RnnAttentionState> {
  return {
    begin: (src, srcMask) => model.begin(src, srcMask),
    step(tokens, state) {
      const [N, t] = tokens.shape;
      return model.decodeStep(reshape(narrow(tokens, 1, t - 1, 1), [N]), state);
    },
    select(state, rows) {
      const idx = new Tensor(rows, [rows.length]);
      return {
        memory: indexSelect(state.memory, 0, idx),
        keys: indexSelect(state.keys, 0, idx),
        mask: state.mask ? indexSelect(state.mask, 0, idx) : null,
        s: indexSelect(state.s, 0, idx),
        weights: state.weights.map((w) => indexSelect(w, 0, idx)),
      };
    },
  };
}
