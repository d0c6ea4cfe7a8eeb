// The workloads, tsformer's side. Each one returns the fields of its JSON line; the harness
// (run.ts) adds workload, threads and backend. The peers (bench/peers/) run the same shapes.

import { F, type Tensor, manualSeed, matmul, models, nn, noGrad, optim, randint, randn, tidy } from "../src/index.js";
import { timeIt } from "./common.js";
import { countGflop } from "./flops.js";

export type Fields = Record<string, unknown>;

export interface RunOptions {
  repeats: number;
  warmup: number;
}

export type WorkloadKind = "sgemm" | "vit" | "seq2seq" | "gpt" | "attention";

/** One timed thing a workload does: its median time goes in `field`, its FLOPs in `field` with _gflop. */
export interface Phase {
  field: "forward_s" | "train_step_s" | "time_s" | "forward_every_row_s" | "train_step_every_row_s";
  /** Run once before the phase is timed (model.eval(), as the PyTorch peer does outside its timing). */
  before?: () => void;
  fn: () => unknown;
  /** Time this many times the requested repeats (short calls; the peers do the same). */
  repeatFactor?: number;
}

/**
 * A square GEMM takes 2-90 ms here: five of them are at the mercy of one scheduler hiccup on
 * a shared VM, so both sides time five times as many (bench/peers/torch_peer.py's run_sgemm).
 */
export const SGEMM_REPEAT_FACTOR = 5;

/** A built workload: the model and data exist, nothing has run yet. */
export interface Prepared {
  /** Fields known before timing (params). */
  fields: Fields;
  phases: Phase[];
  /** Fields computed from the phases' median times (gflops, tokens_per_s). */
  derive?: (times: Record<string, number>) => Fields;
}

export interface Workload {
  name: string;
  kind: WorkloadKind;
  /** What the line measures, for docs and --help. */
  about: string;
  /** Batch/length and the model config, handed to the PyTorch peer so both build the same model. */
  peerConfig?: Record<string, unknown>;
  /** Attention sequence length, GEMM size. */
  size?: number;
  /** Build the model and data (in-process workloads; attention runs in a child process). */
  setup?: () => Prepared;
}

/** Time every phase of a prepared workload and count its FLOPs: the fields of its JSON line. */
export function runPrepared(p: Prepared, o: RunOptions): Fields {
  const fields: Fields = { ...p.fields };
  const times: Record<string, number> = {};
  for (const phase of p.phases) {
    phase.before?.();
    times[phase.field] = timeIt(phase.fn, o.repeats * (phase.repeatFactor ?? 1), o.warmup).median;
    fields[phase.field] = times[phase.field];
    if (phase.field !== "time_s") fields[phase.field.replace(/_s$/, "_gflop")] = countGflop(phase.fn);
  }
  return { ...fields, ...p.derive?.(times) };
}

const noDropout = { hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 };

function vitConfig(preset: string): models.ViTConfig {
  const c = models.vitPresets[preset];
  if (!c) throw new Error(`bench: no ViT preset "${preset}"`);
  return { ...c, ...noDropout };
}

const vitTiny = (): models.ViTConfig => vitConfig("vit-tiny-patch16-224");
const vitMnist = (): models.ViTConfig => vitConfig("vit-mnist");

const seq2seqConfig: models.TransformerConfig = {
  srcVocabSize: 1000, tgtVocabSize: 1000, dModel: 256, numHeads: 4, numEncoderLayers: 3, numDecoderLayers: 3,
  dimFeedforward: 1024, dropout: 0, maxLen: 64, normFirst: false, shareEmbeddings: false,
};

const gptConfig: models.GPT2Config = {
  vocabSize: 5000, nPositions: 256, nEmbd: 384, nLayer: 6, nHead: 6, layerNormEpsilon: 1e-5,
  embdPdrop: 0, attnPdrop: 0, residPdrop: 0,
};

function adamw(model: nn.Module): optim.AdamW {
  return new optim.AdamW(model.parameters(), { lr: 1e-4, weightDecay: 0.01 });
}

function sgemm(n: number): Prepared {
  manualSeed(0);
  const a = randn([n, n]), b = randn([n, n]);
  return {
    fields: {},
    // tidy: the product goes back to the pool and the next call writes into it while it is
    // still in cache, as PyTorch's `c = a @ b` frees the last c. Without it every call wrote to
    // memory the garbage collector had not yet handed back (sgemm_512 160 GFLOP/s against 205)
    phases: [{ field: "time_s", fn: () => tidy(() => { noGrad(() => matmul(a, b)); }), repeatFactor: SGEMM_REPEAT_FACTOR }],
    derive: (t) => ({ gflops: (2 * n ** 3) / t.time_s / 1e9 }),
  };
}

/** A training step: zero the gradients, the loss, backward, AdamW; its memory is reused by the next (tidy). */
function trainStep(opt: optim.AdamW, loss: () => Tensor): () => void {
  return () =>
    tidy(() => {
      opt.zeroGrad();
      loss().backward();
      opt.step();
    });
}

function vit(config: models.ViTConfig, batch: number): Prepared {
  manualSeed(0);
  const model = new models.ViTForImageClassification(config);
  const x = randn([batch, config.numChannels, config.imageSize, config.imageSize]);
  const y = randint(0, config.numLabels, [batch]);
  const opt = adamw(model);
  // tidy: the forward's activations go back to the pool for the next call, as PyTorch's
  // caching allocator and onnxruntime's arena keep theirs (ViT-Ti: 4% faster)
  const forward = () => tidy(() => { noGrad(() => model.forward(x)); });
  const step = trainStep(opt, () => F.crossEntropy(model.forward(x).logits, y));
  // The model's default runs its last layer for the [CLS] row alone (ViTModel.forwardCls); the
  // peers' models (Hugging Face's, in PyTorch and ONNX) run every row. The *_every_row_s phases
  // time ours doing the peers' arithmetic too, so both comparisons are in every run.
  const mode = (training: boolean, clsOnly: boolean) => () => {
    if (training) model.train(); else model.eval();
    model.vit.clsOnlyLastLayer = clsOnly;
  };
  return {
    fields: { params: model.numParameters() },
    phases: [
      { field: "forward_s", before: mode(false, true), fn: forward },
      { field: "train_step_s", before: mode(true, true), fn: step },
      { field: "forward_every_row_s", before: mode(false, false), fn: forward },
      { field: "train_step_every_row_s", before: mode(true, false), fn: step },
    ],
  };
}

function lmLoss(logits: Tensor, targets: Tensor): Tensor {
  const V = logits.shape[logits.ndim - 1];
  return F.crossEntropy(logits.reshape([-1, V]), targets.reshape([-1]));
}

const tokenRate = (tokens: number) => (t: Record<string, number>): Fields => ({ tokens_per_s: tokens / t.train_step_s });

function seq2seq(batch: number, length: number): Prepared {
  manualSeed(0);
  const c = seq2seqConfig;
  const model = new models.Transformer(c);
  const src = randint(0, c.srcVocabSize, [batch, length]);
  const tgtIn = randint(0, c.tgtVocabSize, [batch, length]);
  const tgtOut = randint(0, c.tgtVocabSize, [batch, length]);
  model.train();
  return {
    fields: { params: model.numParameters() },
    phases: [{ field: "train_step_s", fn: trainStep(adamw(model), () => lmLoss(model.forward(src, tgtIn), tgtOut)) }],
    derive: tokenRate(batch * length),
  };
}

function gpt(batch: number, length: number): Prepared {
  manualSeed(0);
  const c = gptConfig;
  const model = new models.GPT2LMHeadModel(c);
  const ids = randint(0, c.vocabSize, [batch, length]);
  const targets = randint(0, c.vocabSize, [batch, length]);
  model.train();
  return {
    fields: { params: model.numParameters() },
    phases: [{ field: "train_step_s", fn: trainStep(adamw(model), () => lmLoss(model.forward(ids).logits, targets)) }],
    derive: tokenRate(batch * length),
  };
}

/** The workloads in the order they run. Attention runs in a child process (run.ts). */
export function workloads(): Workload[] {
  const list: Workload[] = [];
  for (const n of [512, 1024, 2048]) {
    list.push({ name: `sgemm_${n}`, kind: "sgemm", size: n, about: `float32 [${n},${n}] @ [${n},${n}]: gflops`, setup: () => sgemm(n) });
  }
  list.push({
    name: "vit_tiny16_224_b8", kind: "vit",
    about: "ViT-Ti/16 (224px, dim 192, depth 12, 3 heads, MLP 768, 1000 classes), batch 8: forward_s (no grad), train_step_s (fwd + CE + bwd + AdamW)",
    peerConfig: { batch: 8, model: vitTiny() },
    setup: () => vit(vitTiny(), 8),
  });
  list.push({
    name: "vit_mnist_b128", kind: "vit",
    about: "ViT for 28x28x1 (patch 4, dim 64, depth 4, 4 heads, MLP 128, 10 classes), batch 128: forward_s, train_step_s",
    peerConfig: { batch: 128, model: vitMnist() },
    setup: () => vit(vitMnist(), 128),
  });
  list.push({
    name: "seq2seq_d256_3x3_b64_l32", kind: "seq2seq",
    about: "encoder-decoder Transformer (post-norm, d 256, 4 heads, 3+3 layers, FF 1024, vocab 1000+1000), batch 64 x 32 tokens, causal target mask: train_step_s, tokens_per_s",
    peerConfig: { batch: 64, length: 32, model: seq2seqConfig },
    setup: () => seq2seq(64, 32),
  });
  list.push({
    name: "gpt_d384_l6_ctx256_b8", kind: "gpt",
    about: "GPT-2-style decoder (d 384, 6 layers, 6 heads, context 256, vocab 5000, tied embeddings), batch 8: train_step_s, tokens_per_s",
    peerConfig: { batch: 8, length: 256, model: gptConfig },
    setup: () => gpt(8, 256),
  });
  for (const T of [512, 2048, 4096]) {
    list.push({
      name: `attention_T${T}_h8_d64`, kind: "attention", size: T,
      about: `scaled dot-product attention forward, q,k,v [1, 8, ${T}, 64]: forward_s, extra_rss_mb (fresh process)`,
    });
  }
  return list;
}
