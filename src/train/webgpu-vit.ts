// Training a Vision Transformer on the GPU, through WebGPU.
//
// The eager engine cannot run on the `webgpu` backend (it reads arrays synchronously; WebGPU
// reads back only asynchronously: docs/BROWSER.md), so this trainer runs one fixed schedule of
// webgpu kernels instead: the forward pass of ViTForImageClassification (eq. 1-4 of Dosovitskiy
// et al. 2021), its backward pass written out layer by layer (what autograd would record), and
// AdamW, all on GPU-resident arrays. Nothing comes back to the host during a step; `loss()` and
// `copyWeightsTo()` read asynchronously when asked. The model's weights are uploaded from an
// engine ViTForImageClassification and copied back into it afterwards, so the engine (attention
// maps, checkpoints, evaluation) takes over where the GPU left off.
//
// Shapes: B images of C x S x S, P x P patches, Np = (S/P)^2 patches, T = Np + 1 tokens,
// N = B*T rows, D hidden, H heads of D/H, M the MLP width, L labels.

import type { GPUArray, WebGPUBackend } from "../backend/webgpu/backend.js";
import type { ViTConfig, ViTForImageClassification } from "../models/vit.js";
import type { Parameter } from "../nn/module.js";

export interface WebGPUViTTrainerOptions {
  /** Images per step; every step takes exactly this many. */
  batchSize: number;
  /** AdamW's settings (defaults as optim.AdamW: 1e-3, [0.9, 0.999], 1e-8, 0.01). */
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** One trained array: its engine Parameter, the GPU copy, its gradient and AdamW's moments. */
interface Slot { name: string; param: Parameter; value: GPUArray; grad: GPUArray; m: GPUArray; v: GPUArray }

interface Linear { w: Slot; b: Slot | null }

interface Layer {
  ln1: Linear; q: Linear; k: Linear; v: Linear; o: Linear; ln2: Linear; fc1: Linear; fc2: Linear;
  // saved activations, [N, D] unless noted
  h1: GPUArray; mean1: GPUArray; rstd1: GPUArray; qo: GPUArray; ko: GPUArray; vo: GPUArray;
  att: GPUArray; lse: GPUArray /* [B*H, T] */; z1: GPUArray; h2: GPUArray; mean2: GPUArray; rstd2: GPUArray;
  f: GPUArray /* [N, M] */; gf: GPUArray /* [N, M] */;
}

export class WebGPUViTTrainer {
  lr: number;
  readonly batchSize: number;
  readonly config: ViTConfig;
  #step = 0;
  readonly #slots: Slot[] = [];
  readonly #betas: [number, number];
  readonly #eps: number;
  readonly #weightDecay: number;
  // sizes
  readonly #T: number; readonly #Np: number; readonly #N: number; readonly #K: number;
  // parameters
  readonly #patch: Linear; readonly #cls: Slot; readonly #pos: Slot; readonly #layers: Layer[] = [];
  readonly #lnf: Linear; readonly #head: Linear;
  // inputs, activations and gradients
  readonly #pixels: GPUArray; readonly #labels: GPUArray; readonly #patches: GPUArray; readonly #pe: GPUArray;
  readonly #z: GPUArray[] = []; // z[0] embeddings, z[i+1] the output of layer i
  readonly #hf: GPUArray; readonly #meanf: GPUArray; readonly #rstdf: GPUArray; readonly #clsOut: GPUArray;
  readonly #logits: GPUArray; readonly #losses: GPUArray; readonly #dlogits: GPUArray; readonly #dclsOut: GPUArray;
  readonly #dhf: GPUArray; readonly #dzA: GPUArray; readonly #dzB: GPUArray; readonly #dh: GPUArray; readonly #datt: GPUArray;
  readonly #dq: GPUArray; readonly #dk: GPUArray; readonly #dv: GPUArray; readonly #dG: GPUArray; readonly #dF: GPUArray;
  readonly #dclsRows: GPUArray; readonly #dpe: GPUArray;
  readonly #owned: GPUArray[] = [];

  /** Upload `model`'s weights to `gpu` and allocate a step's arrays for `options.batchSize` images. */
  constructor(readonly gpu: WebGPUBackend, model: ViTForImageClassification, options: WebGPUViTTrainerOptions) {
    const c = model.config;
    if (c.hiddenDropoutProb !== 0 || c.attentionProbsDropoutProb !== 0) {
      throw new Error("WebGPUViTTrainer: dropout is not implemented on the GPU; set hiddenDropoutProb and attentionProbsDropoutProb to 0");
    }
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new Error(`WebGPUViTTrainer: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.config = c;
    this.batchSize = options.batchSize;
    this.lr = options.lr ?? 1e-3;
    this.#betas = options.betas ?? [0.9, 0.999];
    this.#eps = options.eps ?? 1e-8;
    this.#weightDecay = options.weightDecay ?? 1e-2;

    // every GPU array the trainer makes, for destroy()
    const own = (a: GPUArray): GPUArray => { this.#owned.push(a); return a; };
    const zeros = (n: number): GPUArray => own(gpu.zeros(n));
    const named = new Map(model.namedParameters());
    const slot = (name: string, required = true): Slot | null => {
      const param = named.get(name);
      if (!param) {
        if (!required) return null;
        throw new Error(`WebGPUViTTrainer: the model has no parameter "${name}" (a plain ViTForImageClassification is needed; ` +
          `the hybrid's CNN stem does not run on the GPU)`);
      }
      const s: Slot = { name, param, value: own(gpu.upload(param.data as Float32Array)), grad: zeros(param.numel), m: zeros(param.numel), v: zeros(param.numel) };
      this.#slots.push(s);
      return s;
    };
    const linear = (prefix: string, bias = true): Linear => ({ w: slot(`${prefix}.weight`)!, b: slot(`${prefix}.bias`, bias) });

    const { hiddenSize: D, intermediateSize: M, numLabels: L, numChannels: C, patchSize: P, imageSize: S } = c;
    const B = this.batchSize;
    this.#Np = (S / P) ** 2;
    this.#T = this.#Np + 1;
    this.#N = B * this.#T;
    this.#K = C * P * P;
    const N = this.#N;

    this.#patch = linear("vit.embeddings.patch_embeddings.projection");
    this.#cls = slot("vit.embeddings.cls_token")!;
    this.#pos = slot("vit.embeddings.position_embeddings")!;
    if (this.#pos.param.numel !== this.#T * D) {
      throw new Error(`WebGPUViTTrainer: position_embeddings hold ${this.#pos.param.numel} floats, expected ${this.#T} x ${D}`);
    }
    for (let i = 0; i < c.numHiddenLayers; i++) {
      const p = `vit.encoder.layer.${i}`;
      this.#layers.push({
        ln1: linear(`${p}.layernorm_before`), q: linear(`${p}.attention.attention.query`, c.qkvBias),
        k: linear(`${p}.attention.attention.key`, c.qkvBias), v: linear(`${p}.attention.attention.value`, c.qkvBias),
        o: linear(`${p}.attention.output.dense`), ln2: linear(`${p}.layernorm_after`),
        fc1: linear(`${p}.intermediate.dense`), fc2: linear(`${p}.output.dense`),
        h1: zeros(N * D), mean1: zeros(N), rstd1: zeros(N), qo: zeros(N * D), ko: zeros(N * D), vo: zeros(N * D),
        att: zeros(N * D), lse: zeros(B * c.numAttentionHeads * this.#T), z1: zeros(N * D), h2: zeros(N * D),
        mean2: zeros(N), rstd2: zeros(N), f: zeros(N * M), gf: zeros(N * M),
      });
    }
    this.#lnf = linear("vit.layernorm");
    this.#head = linear("classifier");
    if (this.#slots.length !== named.size) {
      const used = new Set(this.#slots.map((s) => s.name));
      throw new Error(`WebGPUViTTrainer: parameters the GPU schedule does not train: ${[...named.keys()].filter((n) => !used.has(n)).join(", ")}`);
    }

    this.#pixels = zeros(B * C * S * S);
    this.#labels = zeros(B);
    this.#patches = zeros(B * this.#Np * this.#K);
    this.#pe = zeros(B * this.#Np * D);
    for (let i = 0; i <= c.numHiddenLayers; i++) this.#z.push(zeros(N * D));
    this.#hf = zeros(N * D); this.#meanf = zeros(N); this.#rstdf = zeros(N);
    this.#clsOut = zeros(B * D); this.#logits = zeros(B * L); this.#losses = zeros(B); this.#dlogits = zeros(B * L);
    this.#dclsOut = zeros(B * D); this.#dhf = zeros(N * D); // only its [CLS] rows are ever written
    this.#dzA = zeros(N * D); this.#dzB = zeros(N * D); this.#dh = zeros(N * D); this.#datt = zeros(N * D);
    this.#dq = zeros(N * D); this.#dk = zeros(N * D); this.#dv = zeros(N * D);
    this.#dG = zeros(N * M); this.#dF = zeros(N * M);
    this.#dclsRows = zeros(B * D); this.#dpe = zeros(B * this.#Np * D);
  }

  /** Steps taken so far. */
  get steps(): number { return this.#step; }

  /**
   * Queue one training step on a batch: pixels [B, C, S, S] (row-major) and B class labels. Returns
   * at once; the GPU runs the step in the background. Read the loss with `await loss()`.
   */
  step(pixels: Float32Array, labels: ArrayLike<number>): void {
    this.forwardBackward(pixels, labels);
    this.optimizerStep();
  }

  /** Forward and backward only: fills every gradient (read them with `gradients()`). */
  forwardBackward(pixels: Float32Array, labels: ArrayLike<number>): void {
    const { numChannels: C, imageSize: S, numLabels: L } = this.config;
    const B = this.batchSize;
    if (pixels.length !== B * C * S * S) {
      throw new Error(`WebGPUViTTrainer.step: pixels hold ${pixels.length} floats, expected [${B}, ${C}, ${S}, ${S}] = ${B * C * S * S}`);
    }
    if (labels.length !== B) throw new Error(`WebGPUViTTrainer.step: expected ${B} labels, got ${labels.length}`);
    const y = Float32Array.from(labels);
    for (let i = 0; i < B; i++) {
      if (!(Number.isInteger(y[i]) && y[i] >= 0 && y[i] < L)) throw new Error(`WebGPUViTTrainer.step: label ${i} is ${labels[i]}, expected an integer in [0, ${L})`);
    }
    this.gpu.write(this.#pixels, pixels);
    this.gpu.write(this.#labels, y);
    this.#forward();
    this.#backward();
  }

  /** AdamW on every parameter with the gradients of the last forwardBackward. */
  optimizerStep(): void {
    this.#step++;
    const [b1, b2] = this.#betas;
    for (const s of this.#slots) this.gpu.adamw(s.value, s.grad, s.m, s.v, this.lr, b1, b2, this.#eps, this.#weightDecay, this.#step);
  }

  /** Mean cross-entropy of the last step's batch (waits for the GPU). */
  async loss(): Promise<number> {
    const l = await this.#losses.data();
    return l.reduce((a, b) => a + b, 0) / l.length;
  }

  /** The last step's logits [B, L] (waits for the GPU). */
  async logits(): Promise<Float32Array> {
    return this.#logits.data();
  }

  /** Every parameter's gradient from the last forwardBackward, by the engine's parameter names. */
  async gradients(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const s of this.#slots) out.set(s.name, await s.grad.data());
    return out;
  }

  /** Copy the trained weights back into the model's Parameters (in place). */
  async copyWeightsTo(model: ViTForImageClassification): Promise<void> {
    const named = new Map(model.namedParameters());
    for (const s of this.#slots) {
      const p = named.get(s.name);
      if (!p || p.numel !== s.param.numel) throw new Error(`WebGPUViTTrainer.copyWeightsTo: the model has no parameter "${s.name}" of ${s.param.numel} floats`);
      (p.data as Float32Array).set(await s.value.data());
    }
  }

  /** Free the trainer's GPU memory (weights, moments, activations); it cannot step afterwards. */
  destroy(): void {
    for (const a of this.#owned.splice(0)) a.destroy();
  }

  // --- the forward pass (eq. 1-4) -----------------------------------------------------------------

  #forward(): void {
    const g = this.gpu, c = this.config;
    const { hiddenSize: D, numChannels: C, patchSize: P, imageSize: S, numLabels: L } = c;
    const B = this.batchSize, T = this.#T, Np = this.#Np, N = this.#N, K = this.#K, side = S / P;

    // Eq. 1: flattened patches x_p E + b, [CLS] in front, + E_pos.
    // [B, C, side, P, side, P] -> [B, side, side, C, P, P] = [B*Np, C*P*P], the conv weight's order
    g.permute(this.#pixels, [B, C, side, P, side, P], [0, 2, 4, 1, 3, 5], this.#patches);
    this.#linear(this.#patches, B * Np, K, this.#patch, D, this.#pe); // [B*Np, D]
    const z0 = this.#z[0];
    g.copyBlocks(this.#cls.value, z0, rows(B, D, 0, 0, 0, T * D)); // row 0 of each image
    g.copyBlocks(this.#pe, z0, rows(B, Np * D, 0, Np * D, D, T * D)); // rows 1..Np
    g.copyBlocks(this.#pos.value, z0, { ...rows(B, T * D, 0, 0, 0, T * D), add: true });

    // Eq. 2-3 per layer: z1 = MSA(LN(z)) + z; z2 = MLP(LN(z1)) + z1
    this.#layers.forEach((l, i) => {
      const z = this.#z[i], z2 = this.#z[i + 1];
      g.layerNorm(z, l.ln1.w.value, l.ln1.b!.value, N, D, c.layerNormEps, l.h1, l.mean1, l.rstd1);
      this.#linear(l.h1, N, D, l.q, D, l.qo);
      this.#linear(l.h1, N, D, l.k, D, l.ko);
      this.#linear(l.h1, N, D, l.v, D, l.vo);
      g.attention(this.#attentionArgs(l)); // [B, T, H, D/H] rows, no permute
      this.#linear(l.att, N, D, l.o, D, l.z1);
      g.copyBlocks(z, l.z1, all(N * D, true)); // + z
      g.layerNorm(l.z1, l.ln2.w.value, l.ln2.b!.value, N, D, c.layerNormEps, l.h2, l.mean2, l.rstd2);
      this.#linear(l.h2, N, D, l.fc1, c.intermediateSize, l.f);
      g.unary("gelu", l.f, l.gf);
      this.#linear(l.gf, N, c.intermediateSize, l.fc2, D, z2);
      g.copyBlocks(l.z1, z2, all(N * D, true)); // + z1
    });

    // Eq. 4: y = head(LN(z_L^0)); the loss is the mean over the batch
    g.layerNorm(this.#z[this.#layers.length], this.#lnf.w.value, this.#lnf.b!.value, N, D, c.layerNormEps, this.#hf, this.#meanf, this.#rstdf);
    g.copyBlocks(this.#hf, this.#clsOut, rows(B, D, 0, T * D, 0, D));
    this.#linear(this.#clsOut, B, D, this.#head, L, this.#logits);
    g.crossEntropy(this.#logits, this.#labels, B, L, this.#losses, this.#dlogits, 1 / B);
  }

  // --- the backward pass, the forward read bottom to top --------------------------------------------

  #backward(): void {
    const g = this.gpu, c = this.config;
    const { hiddenSize: D, numLabels: L, intermediateSize: M } = c;
    const B = this.batchSize, T = this.#T, Np = this.#Np, N = this.#N, K = this.#K;

    this.#linearBackward(this.#clsOut, B, D, this.#head, L, this.#dlogits, this.#dclsOut);
    g.copyBlocks(this.#dclsOut, this.#dhf, rows(B, D, 0, D, 0, T * D));
    const zL = this.#z[this.#layers.length];
    g.layerNormBackward(zL, this.#lnf.w.value, this.#meanf, this.#rstdf, this.#dhf, N, D, this.#dzA, this.#lnf.w.grad, this.#lnf.b!.grad);

    // dzA holds dLoss/dz of the current layer's output, and becomes that of its input
    for (let i = this.#layers.length - 1; i >= 0; i--) {
      const l = this.#layers[i], z = this.#z[i];
      // z2 = fc2(gelu(fc1(LN(z1)))) + z1
      this.#linearBackward(l.gf, N, M, l.fc2, D, this.#dzA, this.#dG);
      g.unaryBackward("gelu", l.f, this.#dG, this.#dF);
      this.#linearBackward(l.h2, N, D, l.fc1, M, this.#dF, this.#dh);
      g.layerNormBackward(l.z1, l.ln2.w.value, l.mean2, l.rstd2, this.#dh, N, D, this.#dzB, l.ln2.w.grad, l.ln2.b!.grad);
      g.copyBlocks(this.#dzA, this.#dzB, all(N * D, true)); // residual: dz1 += dz2
      // z1 = o(attention(q, k, v)) + z with q, k, v projections of h1 = LN(z)
      this.#linearBackward(l.att, N, D, l.o, D, this.#dzB, this.#datt);
      g.attentionBackward({ ...this.#attentionArgs(l), gradOut: this.#datt, gradQ: this.#dq, gradK: this.#dk, gradV: this.#dv });
      this.#linearBackward(l.h1, N, D, l.q, D, this.#dq, this.#dh);
      this.#linearBackward(l.h1, N, D, l.k, D, this.#dk, this.#dh, true);
      this.#linearBackward(l.h1, N, D, l.v, D, this.#dv, this.#dh, true);
      g.layerNormBackward(z, l.ln1.w.value, l.mean1, l.rstd1, this.#dh, N, D, this.#dzA, l.ln1.w.grad, l.ln1.b!.grad);
      g.copyBlocks(this.#dzB, this.#dzA, all(N * D, true)); // residual: dz += dz1
    }

    // Eq. 1 backward: E_pos gets the batch sum, [CLS] the sum of row 0, E the patch rows
    const dz0 = this.#dzA;
    g.columnSum(dz0, B, T * D, this.#pos.grad);
    g.copyBlocks(dz0, this.#dclsRows, rows(B, D, 0, T * D, 0, D));
    g.columnSum(this.#dclsRows, B, D, this.#cls.grad);
    g.copyBlocks(dz0, this.#dpe, rows(B, Np * D, D, T * D, 0, Np * D));
    this.#linearBackward(this.#patches, B * Np, K, this.#patch, D, this.#dpe, null);
  }

  // --- building blocks --------------------------------------------------------------------------

  /** y = x W^T + b: x [rows, inF], W [outF, inF] -> y [rows, outF]. */
  #linear(x: GPUArray, rowsN: number, inF: number, lin: Linear, outF: number, y: GPUArray): void {
    this.#gemm(x, lin.w.value, y, rowsN, outF, inF, false, true, 0);
    if (lin.b) this.gpu.copyBlocks(lin.b.value, y, { ...rows(1, outF, 0, 0, 0, 0), rows: rowsN, yRowStride: outF, add: true });
  }

  /** Gradients of y = x W^T + b from dy: dW = dy^T x, db = column sums of dy, dx = dy W (added to dx's contents when `accumulate`). */
  #linearBackward(x: GPUArray, rowsN: number, inF: number, lin: Linear, outF: number, dy: GPUArray, dx: GPUArray | null, accumulate = false): void {
    this.#gemm(dy, x, lin.w.grad, outF, inF, rowsN, true, false, 0);
    if (lin.b) this.gpu.columnSum(dy, rowsN, outF, lin.b.grad);
    if (dx) this.#gemm(dy, lin.w.value, dx, rowsN, inF, outF, false, false, accumulate ? 1 : 0);
  }

  /** c = op(a) op(b) (+ beta c), op(a) [m, k], op(b) [k, n], all contiguous. */
  #gemm(a: GPUArray, b: GPUArray, c: GPUArray, m: number, n: number, k: number, transA: boolean, transB: boolean, beta: number): void {
    this.gpu.gemm({ transA, transB, m, n, k, alpha: 1, beta, a, aOffset: 0, lda: transA ? m : k, strideA: 0,
      b, bOffset: 0, ldb: transB ? k : n, strideB: 0, c, cOffset: 0, ldc: n, strideC: 0, batch: 1 });
  }

  #attentionArgs(l: Layer) {
    const H = this.config.numAttentionHeads, dh = this.config.hiddenSize / H;
    return { q: l.qo, k: l.ko, v: l.vo, bh: this.batchSize * H, tq: this.#T, tk: this.#T, d: dh, dv: dh, heads: H,
      scale: 1 / Math.sqrt(dh), causal: false, mask: null, maskBatch: 1, maskHeadDiv: 1, out: l.att, lse: l.lse };
  }
}

/** A batched copy of one block of `cols` floats per image (no row structure), overwriting. */
function rows(batch: number, cols: number, xOffset: number, xBatchStride: number, yOffset: number, yBatchStride: number) {
  return { batch, rows: 1, cols, xOffset, xBatchStride, xRowStride: 0, yOffset, yBatchStride, yRowStride: 0, add: false };
}

/** n contiguous floats, copied or added. */
function all(n: number, add: boolean) {
  return { ...rows(1, n, 0, 0, 0, 0), add };
}
