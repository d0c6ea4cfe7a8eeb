// One seeded random generator for everything (initialisers, dropout, data shuffling), so a run
// is reproducible bit for bit. xoshiro128** (Blackman & Vigna), seeded through splitmix32.

export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  manualSeed(seed: number): this {
    let x = (Math.floor(seed) >>> 0) ^ 0x9e3779b9;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.spare = null;
    return this;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of randomness. */
  random(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Integer uniform in [low, high). */
  randint(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * A dropout mask of n entries: scale with probability keepProb, else 0. Dropout needs
   * millions of draws per step, so the mask comes from four xorshift32 streams (Marsaglia 2003)
   * seeded by four draws of this generator and interleaved (entry i from stream i % 4): each
   * stream is a chain of dependent shifts, and four chains run side by side on the CPU, about
   * three times the rate of one. Reproducible, and a few times cheaper per entry than random().
   */
  dropoutMask(n: number, keepProb: number, scale: number): Float32Array {
    const out = new Float32Array(n);
    const threshold = keepProb * 4294967296;
    // xorshift32 needs a nonzero state
    let a = this.nextUint32() | 1, b = this.nextUint32() | 1, c = this.nextUint32() | 1, d = this.nextUint32() | 1;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      a ^= a << 13; a ^= a >>> 17; a ^= a << 5;
      b ^= b << 13; b ^= b >>> 17; b ^= b << 5;
      c ^= c << 13; c ^= c >>> 17; c ^= c << 5;
      d ^= d << 13; d ^= d >>> 17; d ^= d << 5;
      if (a >>> 0 < threshold) out[i] = scale;
      if (b >>> 0 < threshold) out[i + 1] = scale;
      if (c >>> 0 < threshold) out[i + 2] = scale;
      if (d >>> 0 < threshold) out[i + 3] = scale;
    }
    for (; i < n; i++) {
      a ^= a << 13; a ^= a >>> 17; a ^= a << 5;
      if (a >>> 0 < threshold) out[i] = scale;
    }
    return out;
  }

  /** Fisher-Yates permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = p[i]; p[i] = p[j]; p[j] = t;
    }
    return p;
  }

  /** The generator's full state, for checkpoints. */
  getState(): number[] {
    return [...this.s, this.spare === null ? NaN : this.spare];
  }

  setState(state: readonly number[]): void {
    if (state.length !== 5) throw new RangeError(`Generator.setState: expected 5 numbers, got ${state.length}`);
    for (let i = 0; i < 4; i++) this.s[i] = state[i] >>> 0;
    this.spare = Number.isNaN(state[4]) ? null : state[4];
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The default generator that every random function draws from. */
export const defaultGenerator = new Generator(0);

/** Seed the default generator (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}
