// What every guide example shares: the small/full setting, where pictures go, and writing them
// through src/explain (SVG as it is, PNG through sharp), atomically.
//
// Each example exports `run(options)` (the test suite calls it with setting "small" and a
// temporary folder) and runs itself from the command line:
//   node dist/examples/guide/<example>.js [--full] [--out docs/guide/img]

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { explain } from "../../src/index.js";

export type Setting = "small" | "full";

export interface GuideOptions {
  /** "small": seconds, what the tests run; "full": the numbers the chapter quotes (default). */
  setting?: Setting;
  /** Folder for the pictures; null writes none (default docs/guide/img). */
  out?: string | null;
  log?: (line: string) => void;
}

export const GUIDE_IMG = "docs/guide/img";

export function resolve(o: GuideOptions): { setting: Setting; out: string | null; log: (line: string) => void } {
  return { setting: o.setting ?? "full", out: o.out === undefined ? GUIDE_IMG : o.out, log: o.log ?? console.log };
}

/** Write an SVG picture; returns its path (or null when pictures are off). */
export function saveSvg(out: string | null, name: string, svg: string): string | null {
  if (out === null) return null;
  const path = join(out, name);
  explain.writeFileAtomic(path, svg);
  return path;
}

/** Write an RGB image as PNG; returns its path (or null when pictures are off). */
export async function savePng(out: string | null, name: string, image: explain.RGBImage): Promise<string | null> {
  if (out === null) return null;
  const path = join(out, name);
  explain.writeFileAtomic(path, await explain.encodePng(image));
  return path;
}

/** A [rows, cols] table of values as a viridis picture, `scale` pixels per cell. */
export function tableImage(values: ArrayLike<number>, rows: number, cols: number, scale: number): explain.RGBImage {
  const grid = { rows, cols, data: Float32Array.from(values) };
  return explain.heatmapImage(grid, cols * scale, rows * scale, { interpolation: "nearest" });
}

/** Least-squares slope of log(y) against log(x): 1 for linear growth, 2 for quadratic. */
export function logLogSlope(x: readonly number[], y: readonly number[]): number {
  const lx = x.map(Math.log), ly = y.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length, my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let num = 0, den = 0;
  for (let i = 0; i < lx.length; i++) {
    num += (lx[i] - mx) * (ly[i] - my);
    den += (lx[i] - mx) ** 2;
  }
  return num / den;
}

/** Median of a few timings: robust to another process taking the core for a moment. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** True when the module at `url` is the script node was started with. */
export function isMain(url: string): boolean {
  return process.argv[1] === fileURLToPath(url);
}

/** --full / --small and --out DIR (--no-pictures writes none). */
export function cliOptions(argv = process.argv.slice(2)): GuideOptions {
  const o: GuideOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--full") o.setting = "full";
    else if (a === "--small") o.setting = "small";
    else if (a === "--out") o.out = argv[++i];
    else if (a === "--no-pictures") o.out = null;
    else throw new Error(`unknown option ${a} (expected --full, --small, --out DIR, --no-pictures)`);
  }
  return o;
}
